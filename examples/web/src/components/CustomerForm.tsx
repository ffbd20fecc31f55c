import { skipToken, useApolloClient, useMutation, useQuery } from "@apollo/client/react";
import { useRef, useState } from "react";
import { graphql, getFragmentData } from "../__generated__";
import type {
  AddressFieldsFragment as AddressFieldsFragmentType,
  AddressInput,
  CustomerForm_CustomerFragment,
  CustomerInput,
  CustomerStatus,
} from "../__generated__/graphql";
import { fieldOfMessage, shownErrors } from "../errors";
import { addCustomerToLists } from "../list-update";
import { ErrorList } from "./ErrorList";
import { PushStatus, type PushState } from "./PushStatus";

const CustomerModelQuery = graphql(`
  query CustomerModel($companyId: ID!, $connectionId: ID!) {
    customerCreateUpdateModel(companyId: $companyId, connectionId: $connectionId) {
      displayName
      properties {
        name
        option {
          type
          displayName
          description
          required
          options {
            value
            displayName
          }
          validation {
            warnings {
              details
            }
          }
        }
      }
    }
  }
`);

const CustomerFormFragment = graphql(`
  fragment CustomerForm_customer on Customer {
    customerId
    customerName
    contactName
    emailAddress
    phone
    defaultCurrency
    registrationNumber
    taxNumber
    status
    sourceModifiedDate
    addresses {
      ...AddressFields
    }
    contacts {
      name
      email
      status
      phone {
        number
        type
      }
      address {
        ...AddressFields
      }
    }
  }
`);

const AddressFieldsFragment = graphql(`
  fragment AddressFields on Address {
    type
    line1
    line2
    city
    region
    postalCode
    country
  }
`);

const CustomerForEditQuery = graphql(`
  query CustomerForEdit($companyId: ID!, $customerId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) {
      id
      ...CustomerForm_customer
    }
  }
`);

const CreateCustomerMutation = graphql(`
  mutation CreateCustomer($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      idempotencyKey
      pushOperation {
        id
        pushOperationKey
        status
        validation {
          errors {
            message
          }
        }
      }
    }
  }
`);

const UpdateCustomerMutation = graphql(`
  mutation UpdateCustomer($input: UpdateCustomerInput!) {
    updateCustomer(input: $input) {
      pushOperation {
        id
        pushOperationKey
        status
        validation {
          errors {
            message
          }
        }
      }
    }
  }
`);

/** The CustomerInput fields this form edits; the model decides which of them show, their labels and rules. */
const TEXT_FIELDS = ["customerName", "contactName", "emailAddress", "phone", "defaultCurrency", "registrationNumber", "taxNumber"] as const;
type TextField = (typeof TEXT_FIELDS)[number];
type Field = TextField | "status";
const STATUSES: Record<string, CustomerStatus> = { active: "ACTIVE", archived: "ARCHIVED" };
const isField = (name: string): name is Field => name === "status" || (TEXT_FIELDS as readonly string[]).includes(name);

type Values = Partial<Record<Field, string>>;
type Errors = Partial<Record<Field | "form", string[]>>;

/**
 * Create or edit a customer. Which fields show, which are required and which values a field allows come from
 * `customerCreateUpdateModel` for the chosen connection (it differs per accounting platform); the same model
 * drives the checks made before anything is sent. After sending, the push's outcome arrives by subscription:
 * Codat's validation messages land on the fields they name, the gateway's coded errors on the field their
 * `argumentName` names.
 */
export function CustomerForm(props: {
  companyId: string;
  connectionId: string;
  customerId: string | undefined;
  onDone: (customerId?: string) => void;
}) {
  const { companyId, connectionId, customerId } = props;
  const model = useQuery(CustomerModelQuery, { variables: { companyId, connectionId } });
  const existing = useQuery(CustomerForEditQuery, customerId === undefined ? skipToken : { variables: { companyId, customerId } });
  const customer = getFragmentData(CustomerFormFragment, existing.data?.customer ?? null);
  const client = useApolloClient();
  const [create, creating] = useMutation(CreateCustomerMutation);
  const [update, updating] = useMutation(UpdateCustomerMutation);
  const [errors, setErrors] = useState<Errors>({});
  const [push, setPush] = useState<{ key: string; state?: PushState }>();
  // One idempotency key per submission, kept for a retry after an error that may have reached Codat (a lost answer).
  const idempotencyKey = useRef(crypto.randomUUID());

  if (model.error) return <ErrorList error={model.error} />;
  if (!model.data || (customerId !== undefined && !customer)) return <p>Loading…</p>;
  const properties = (model.data.customerCreateUpdateModel?.properties ?? []).filter((p) => isField(p.name));
  const fields = properties.map((p) => p.name as Field);
  const unsupported = (model.data.customerCreateUpdateModel?.properties ?? []).filter((p) => !isField(p.name)).map((p) => p.name);

  /** Client-side checks from the model: required fields, and values limited to the model's choices. */
  function check(values: Values): Errors {
    const found: Errors = {};
    for (const { name, option } of properties) {
      const field = name as Field;
      const value = values[field]?.trim() ?? "";
      if (option.required && value === "") found[field] = [`${option.displayName} is required.`];
    }
    return found;
  }

  function show(found: Errors) {
    setErrors(found);
  }

  function codatErrors(messages: readonly { message?: string | null }[]): Errors {
    const found: Errors = {};
    for (const { message } of messages) {
      if (!message) continue;
      const field = fieldOfMessage(message, fields) ?? "form";
      (found[field] ??= []).push(message);
    }
    return found;
  }

  function finished(operation: PushState) {
    setPush({ key: operation.pushOperationKey, state: operation });
    if (operation.status === "SUCCESS") {
      if (customerId !== undefined) {
        // The updated record, refetched by id: the cache normalises it, so the list row and the detail update too.
        void client.query({ query: CustomerForEditQuery, variables: { companyId, customerId }, fetchPolicy: "network-only" });
      } else {
        const created = operation.changes.find((change) => change.type === "CREATED")?.recordRef?.id;
        if (created) void addCustomerToLists(client, companyId, created);
      }
    } else if (operation.status === "FAILED") {
      const found = codatErrors(operation.validation?.errors ?? []);
      if (Object.keys(found).length === 0) found.form = [operation.errorMessage ?? "The push failed."];
      show(found);
    } else {
      show({ form: [`The push ended ${operation.status}.`] });
    }
  }

  async function submit(form: HTMLFormElement) {
    const data = new FormData(form);
    const values: Values = {};
    for (const field of fields) {
      const value = data.get(field);
      if (typeof value === "string") values[field] = value;
    }
    const found = check(values);
    show(found);
    if (Object.keys(found).length > 0) return;

    const input: CustomerInput = {};
    for (const field of TEXT_FIELDS) {
      const value = values[field]?.trim();
      if (value) input[field] = value;
    }
    const status = values.status ? STATUSES[values.status.toLowerCase()] : undefined;
    if (status) input.status = status;
    setPush(undefined);
    try {
      const pushOperation =
        customerId === undefined
          ? (
              await create({
                variables: { input: { companyId, connectionId, customer: input, idempotencyKey: idempotencyKey.current } },
              })
            ).data?.createCustomer?.pushOperation
          : (
              await update({
                variables: {
                  input: {
                    companyId,
                    connectionId,
                    customerId,
                    customer: { ...input, ...unchangedParts(customer) },
                  },
                },
              })
            ).data?.updateCustomer?.pushOperation;
      if (!pushOperation) return;
      // Codat has the key now: the next submission is another customer (reusing it with other input is a CONFLICT).
      idempotencyKey.current = crypto.randomUUID();
      if (pushOperation.status === "FAILED") {
        // Codat refused the request outright: its validation problems, as data.
        show(codatErrors(pushOperation.validation?.errors ?? []));
        return;
      }
      setPush({ key: pushOperation.pushOperationKey });
    } catch (error) {
      const coded: Errors = {};
      for (const e of shownErrors(error)) {
        const field = e.field !== undefined && isField(e.field) ? e.field : "form";
        (coded[field] ??= []).push(`${e.code}: ${e.message}`);
      }
      show(coded);
    }
  }

  const sending = creating.loading || updating.loading;
  return (
    <form
      className="customer-form"
      data-testid="customer-form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void submit(event.currentTarget);
      }}
    >
      <h2>{customerId === undefined ? "New customer" : "Edit customer"}</h2>
      <p className="meta">Fields, required marks and choices from the connection’s create/update model.</p>
      {properties.map(({ name, option }) => {
        const field = name as Field;
        const current = customer ? (field === "status" ? customer.status : customer[field]) : undefined;
        const choices = option.options.filter((choice) => choice.value && (field !== "status" || STATUSES[choice.value.toLowerCase()]));
        const fieldErrors = errors[field];
        return (
          <div className="field" key={name} data-field={name}>
            <label htmlFor={`field-${name}`}>
              {option.displayName}
              {option.required && <span aria-label="required"> *</span>}
            </label>
            {choices.length > 0 ? (
              <select id={`field-${name}`} name={name} defaultValue={current?.toString() ?? ""}>
                {!option.required && <option value="">—</option>}
                {choices.map((choice) => (
                  <option
                    key={choice.value}
                    value={field === "status" ? STATUSES[choice.value?.toLowerCase() ?? ""] : (choice.value ?? "")}
                  >
                    {choice.displayName ?? choice.value}
                  </option>
                ))}
              </select>
            ) : (
              <input id={`field-${name}`} name={name} defaultValue={current ?? ""} aria-invalid={fieldErrors ? true : undefined} />
            )}
            {option.validation?.warnings.map((warning, i) => (
              <small key={i}>{warning.details}</small>
            ))}
            {fieldErrors?.map((message, i) => (
              <p className="field-error" role="alert" key={i}>
                {message}
              </p>
            ))}
          </div>
        );
      })}
      {unsupported.length > 0 && <p className="meta">Not editable here: {unsupported.join(", ")}.</p>}
      {errors.form?.map((message, i) => (
        <p className="field-error" role="alert" key={i}>
          {message}
        </p>
      ))}
      {push &&
        (push.state ? (
          <PushResult state={push.state} />
        ) : (
          <PushStatus companyId={companyId} pushOperationKey={push.key} onFinished={finished} />
        ))}
      <div className="actions">
        <button type="submit" disabled={sending || (push !== undefined && push.state === undefined)}>
          {customerId === undefined ? "Create" : "Save"}
        </button>
        <button type="button" onClick={() => props.onDone(customerId)}>
          Close
        </button>
      </div>
    </form>
  );
}

/**
 * Codat replaces the whole record on update: what the form does not edit (addresses, contacts) is sent back as
 * read, with the `sourceModifiedDate` read, so a change made in the platform meanwhile is refused, not overwritten.
 */
function unchangedParts(customer: CustomerForm_CustomerFragment | null | undefined): CustomerInput {
  if (!customer) return {};
  const address = (a: AddressFieldsFragmentType): AddressInput => ({
    type: a.type,
    line1: a.line1,
    line2: a.line2,
    city: a.city,
    region: a.region,
    postalCode: a.postalCode,
    country: a.country,
  });
  return {
    sourceModifiedDate: customer.sourceModifiedDate,
    addresses: customer.addresses.map((a) => address(getFragmentData(AddressFieldsFragment, a))),
    contacts: customer.contacts.map((c) => ({
      name: c.name,
      email: c.email,
      status: c.status,
      phone: c.phone.flatMap((p) => (p.number ? [{ number: p.number, type: p.type }] : [])),
      address: c.address ? address(getFragmentData(AddressFieldsFragment, c.address)) : null,
    })),
  };
}

function PushResult({ state }: { state: PushState }) {
  return (
    <div className="push">
      Push{" "}
      <output data-testid="push-status" data-status={state.status}>
        {state.status}
      </output>
    </div>
  );
}
