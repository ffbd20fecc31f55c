import { useState } from "react";
import { ConnectionPicker } from "./components/ConnectionPicker";
import { CustomerDetail } from "./components/CustomerDetail";
import { CustomerForm } from "./components/CustomerForm";
import { CustomerList } from "./components/CustomerList";

/** The simulator's demo company, the default outside a URL that names one (`?company=<id>`). */
const DEMO_COMPANY_ID = "8a210b68-6988-11ed-a1eb-0242ac120002";
const configured: unknown = import.meta.env["VITE_COMPANY_ID"];
const DEFAULT_COMPANY_ID = typeof configured === "string" && configured !== "" ? configured : DEMO_COMPANY_ID;

type Panel = { kind: "none" } | { kind: "detail"; customerId: string } | { kind: "new" } | { kind: "edit"; customerId: string };

export function App() {
  const [companyId, setCompanyId] = useState(() => new URLSearchParams(window.location.search).get("company") ?? DEFAULT_COMPANY_ID);
  const [connectionId, setConnectionId] = useState<string>();
  const [panel, setPanel] = useState<Panel>({ kind: "none" });

  function openCompany(id: string) {
    setCompanyId(id);
    setConnectionId(undefined);
    setPanel({ kind: "none" });
    const url = new URL(window.location.href);
    url.searchParams.set("company", id);
    window.history.replaceState(null, "", url);
  }

  return (
    <div className="app">
      <header>
        <h1>Customers</h1>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const value = new FormData(event.currentTarget).get("company");
            if (typeof value === "string" && value.trim() !== "") openCompany(value.trim());
          }}
        >
          <label>
            Company <input name="company" defaultValue={companyId} key={companyId} size={38} />
          </label>
          <button type="submit">Open</button>
        </form>
        <ConnectionPicker companyId={companyId} connectionId={connectionId} onChange={setConnectionId} />
        <button type="button" disabled={!connectionId} onClick={() => setPanel({ kind: "new" })}>
          New customer
        </button>
      </header>
      <main>
        <CustomerList
          key={companyId}
          companyId={companyId}
          selected={panel.kind === "detail" || panel.kind === "edit" ? panel.customerId : undefined}
          onSelect={(customerId) => setPanel({ kind: "detail", customerId })}
        />
        <section className="panel">
          {panel.kind === "detail" && connectionId && (
            <CustomerDetail
              companyId={companyId}
              connectionId={connectionId}
              customerId={panel.customerId}
              onEdit={() => setPanel({ kind: "edit", customerId: panel.customerId })}
            />
          )}
          {(panel.kind === "new" || panel.kind === "edit") && connectionId && (
            <CustomerForm
              key={panel.kind === "edit" ? panel.customerId : "new"}
              companyId={companyId}
              connectionId={connectionId}
              customerId={panel.kind === "edit" ? panel.customerId : undefined}
              onDone={(customerId) => setPanel(customerId ? { kind: "detail", customerId } : { kind: "none" })}
            />
          )}
        </section>
      </main>
    </div>
  );
}
