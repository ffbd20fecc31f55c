/** A company's data connections (Platform API). */
import type { Router } from "../server.js";
import { listPage, requireCompany } from "./common.js";

export function registerConnectionRoutes(router: Router): void {
  router.get("/companies/:companyId/connections", (ctx) => {
    const company = requireCompany(ctx);
    // The Platform spec caps pageSize at 2000 in its PagingInfo schema.
    return listPage(ctx, company.connections, `/companies/${company.id}/connections`, { maxPageSize: 2000 });
  });
}
