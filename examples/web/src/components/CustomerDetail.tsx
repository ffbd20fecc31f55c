import { useQuery } from "@apollo/client/react";
import { graphql, getFragmentData, type FragmentType } from "../__generated__";
import { AttachmentLink } from "./AttachmentLink";
import { ErrorList } from "./ErrorList";

const CustomerDetailFragment = graphql(`
  fragment CustomerDetail_customer on Customer {
    customerId
    customerName
    contactName
    emailAddress
    phone
    defaultCurrency
    registrationNumber
    taxNumber
    status
    modifiedDate
    pendingSync
    freshness {
      servedAt
      ageSeconds
      stale
    }
    contacts {
      name
      email
      status
      phone {
        number
        type
      }
    }
    addresses {
      type
      line1
      line2
      city
      region
      postalCode
      country
    }
  }
`);

const CustomerDetailQuery = graphql(`
  query CustomerDetail($companyId: ID!, $customerId: ID!, $connectionId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) {
      id
      ...CustomerDetail_customer
      attachments(connectionId: $connectionId) {
        id
        ...AttachmentLink_attachment
      }
    }
  }
`);

export function CustomerDetail(props: { companyId: string; connectionId: string; customerId: string; onEdit: () => void }) {
  // cache-and-network: the customer shows at once from the cache, and the signed download links are fresh.
  const { data, error, loading } = useQuery(CustomerDetailQuery, {
    variables: { companyId: props.companyId, customerId: props.customerId, connectionId: props.connectionId },
    fetchPolicy: "cache-and-network",
  });
  if (error) return <ErrorList error={error} />;
  if (!data?.customer) return <p>{loading ? "Loading…" : "No such customer."}</p>;
  return (
    <article className="detail" data-testid="customer-detail">
      <CustomerFields customer={data.customer} />
      <button type="button" onClick={props.onEdit}>
        Edit
      </button>
      <h3>Attachments</h3>
      {data.customer.attachments === null || data.customer.attachments === undefined || data.customer.attachments.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul className="attachments" data-testid="attachments">
          {data.customer.attachments.map((attachment) => (
            <AttachmentLink key={attachment.id} attachment={attachment} />
          ))}
        </ul>
      )}
    </article>
  );
}

function CustomerFields(props: { customer: FragmentType<typeof CustomerDetailFragment> }) {
  const customer = getFragmentData(CustomerDetailFragment, props.customer);
  return (
    <>
      <h2>{customer.customerName ?? "(no name)"}</h2>
      <dl>
        <dt>Status</dt>
        <dd>{customer.status.toLowerCase()}</dd>
        <dt>Contact</dt>
        <dd>{[customer.contactName, customer.emailAddress, customer.phone].filter(Boolean).join(" · ") || "—"}</dd>
        <dt>Currency</dt>
        <dd>{customer.defaultCurrency ?? "—"}</dd>
        <dt>Registration / tax</dt>
        <dd>{[customer.registrationNumber, customer.taxNumber].filter(Boolean).join(" / ") || "—"}</dd>
        <dt>Fetched by Codat</dt>
        <dd>{customer.modifiedDate ?? "—"}</dd>
        <dt>Freshness</dt>
        <dd data-testid="freshness">
          {/* The gateway's read cache says how old this copy is, and flags one served while Codat failed. */}
          {customer.freshness ? `as of ${customer.freshness.servedAt}` : "live"}
          {customer.freshness?.stale ? " (stale: Codat could not answer)" : ""}
          {customer.pendingSync ? " · written here, not yet synced by Codat" : ""}
        </dd>
      </dl>
      <h3>Contacts</h3>
      {customer.contacts.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul data-testid="contacts">
          {customer.contacts.map((contact, i) => (
            <li key={i}>
              {contact.name ?? "(no name)"} {contact.email}{" "}
              {contact.phone.map((p) => `${p.type.toLowerCase()}: ${p.number ?? ""}`).join(", ")}
            </li>
          ))}
        </ul>
      )}
      <h3>Addresses</h3>
      {customer.addresses.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul data-testid="addresses">
          {customer.addresses.map((address, i) => (
            <li key={i}>
              <strong>{address.type.toLowerCase()}</strong>{" "}
              {[address.line1, address.line2, address.city, address.region, address.postalCode, address.country].filter(Boolean).join(", ")}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
