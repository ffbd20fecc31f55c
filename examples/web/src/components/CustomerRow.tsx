import { graphql, getFragmentData, type FragmentType } from "../__generated__";

export const CustomerRowFragment = graphql(`
  fragment CustomerRow_customer on Customer {
    customerId
    customerName
    status
    defaultCurrency
  }
`);

export function CustomerRow(props: {
  customer: FragmentType<typeof CustomerRowFragment>;
  selectedId: string | undefined;
  onSelect: (id: string) => void;
}) {
  const customer = getFragmentData(CustomerRowFragment, props.customer);
  return (
    <li className={customer.customerId === props.selectedId ? "selected" : undefined}>
      <button type="button" onClick={() => props.onSelect(customer.customerId)}>
        <span className="name">{customer.customerName ?? "(no name)"}</span>
        <span className="meta">
          {customer.status.toLowerCase()} {customer.defaultCurrency}
        </span>
      </button>
    </li>
  );
}
