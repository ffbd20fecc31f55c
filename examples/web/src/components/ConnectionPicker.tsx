import { useQuery } from "@apollo/client/react";
import { useEffect } from "react";
import { graphql } from "../__generated__";
import { ErrorList } from "./ErrorList";

const ConnectionsQuery = graphql(`
  query Connections($companyId: ID!) {
    connections(companyId: $companyId) {
      id
      connectionId
      platformName
      sourceType
      status
    }
  }
`);

/** The company's accounting connection: attachments, the create/update model and writes all go through one. */
export function ConnectionPicker(props: { companyId: string; connectionId: string | undefined; onChange: (id: string) => void }) {
  const { data, error } = useQuery(ConnectionsQuery, { variables: { companyId: props.companyId } });
  const accounting = (data?.connections ?? []).filter((c) => c.sourceType === "Accounting");
  const first = accounting[0]?.connectionId;
  const { connectionId, onChange } = props;
  useEffect(() => {
    if (connectionId === undefined && first !== undefined) onChange(first);
  }, [connectionId, first, onChange]);

  if (error) return <ErrorList error={error} />;
  return (
    <label>
      Connection{" "}
      <select value={connectionId ?? ""} onChange={(event) => onChange(event.target.value)}>
        {accounting.map((c) => (
          <option key={c.id} value={c.connectionId}>
            {c.platformName} ({c.status})
          </option>
        ))}
      </select>
    </label>
  );
}
