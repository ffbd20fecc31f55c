/** Customers (Accounting API; the same paths serve every Codat product). */
import { SimHttpError } from "../errors.js";
import { jsonText, type Router } from "../server.js";
import { recordJson } from "../store.js";
import { listPage, requireCompany } from "./common.js";

export function registerCustomerRoutes(router: Router): void {
  router.get("/companies/:companyId/data/customers", (ctx) => {
    const company = requireCompany(ctx);
    return listPage(ctx, company.customers, `/companies/${company.id}/data/customers`);
  });

  router.get("/companies/:companyId/data/customers/:customerId", (ctx) => {
    const company = requireCompany(ctx);
    const id = ctx.params["customerId"] ?? "";
    const customer = company.customers.get(id);
    if (!customer) {
      throw new SimHttpError(404, `No data available for customers with ID ${id}`, "PublicApi");
    }
    return jsonText(200, recordJson(customer));
  });
}
