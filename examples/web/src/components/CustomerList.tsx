import { NetworkStatus } from "@apollo/client";
import { useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState } from "react";
import { graphql } from "../__generated__";
import { CustomerRow } from "./CustomerRow";
import { ErrorList } from "./ErrorList";

/** Customers per page: one Codat call each (the gateway asks Codat for pages of the same size). */
export const PAGE_SIZE = 20;

export const CustomerListQuery = graphql(`
  query CustomerList($companyId: ID!, $first: Int!, $after: String, $query: String, $orderBy: String) {
    customers(companyId: $companyId, first: $first, after: $after, query: $query, orderBy: $orderBy) {
      totalCount
      edges {
        cursor
        node {
          id
          ...CustomerRow_customer
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const SORTS = [
  { value: "customerName", label: "Name A–Z" },
  { value: "-customerName", label: "Name Z–A" },
  { value: "-modifiedDate", label: "Recently changed" },
] as const;

/**
 * Codat's query language for a name search: `customerName~text` (contains). Its operators (`&`, `|`, `{`, `}`,
 * `=`, `~`, `<`, `>`, `!`) cannot appear in a value, so they are dropped from what the user typed.
 */
export function nameSearch(text: string): string | undefined {
  const clean = text.replace(/[&|{}=~<>!]/g, "").trim();
  return clean === "" ? undefined : `customerName~${clean}`;
}

export function CustomerList(props: { companyId: string; selected: string | undefined; onSelect: (id: string) => void }) {
  const [search, setSearch] = useState("");
  const [orderBy, setOrderBy] = useState<string>(SORTS[0].value);
  const { data, error, fetchMore, networkStatus } = useQuery(CustomerListQuery, {
    variables: { companyId: props.companyId, first: PAGE_SIZE, query: nameSearch(search), orderBy },
    notifyOnNetworkStatusChange: true,
  });
  const connection = data?.customers;
  const loadingMore = networkStatus === NetworkStatus.fetchMore;
  const sentinel = useRef<HTMLLIElement>(null);

  // Infinite scroll: the next page when the last row scrolls into view. relayStylePagination merges it by cursor.
  const endCursor = connection?.pageInfo.endCursor;
  const hasNextPage = connection?.pageInfo.hasNextPage ?? false;
  useEffect(() => {
    const node = sentinel.current;
    if (!node || !hasNextPage || loadingMore) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        observer.disconnect();
        void fetchMore({ variables: { after: endCursor } });
      }
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [endCursor, hasNextPage, loadingMore, fetchMore]);

  return (
    <section className="list">
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const value = new FormData(event.currentTarget).get("search");
          setSearch(typeof value === "string" ? value : "");
        }}
      >
        <input name="search" type="search" placeholder="Search by name" aria-label="Search by name" />
        <select aria-label="Sort" value={orderBy} onChange={(event) => setOrderBy(event.target.value)}>
          {SORTS.map((sort) => (
            <option key={sort.value} value={sort.value}>
              {sort.label}
            </option>
          ))}
        </select>
      </form>
      {error && <ErrorList error={error} />}
      {connection && (
        <p className="count" data-testid="customer-count">
          {connection.edges.length} of {connection.totalCount}
        </p>
      )}
      <ul className="customers" data-testid="customers">
        {connection?.edges.map((edge) => (
          <CustomerRow key={edge.node.id} customer={edge.node} selectedId={props.selected} onSelect={props.onSelect} />
        ))}
        <li ref={sentinel} className="sentinel" aria-hidden={!loadingMore}>
          {(networkStatus === NetworkStatus.loading || loadingMore) && "Loading…"}
        </li>
      </ul>
    </section>
  );
}
