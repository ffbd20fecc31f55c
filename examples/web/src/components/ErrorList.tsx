import { shownErrors } from "../errors";

/** Errors as the gateway coded them: the code first, so FORBIDDEN reads differently from UPSTREAM_TIMEOUT. */
export function ErrorList({ error }: { error: unknown }) {
  return (
    <ul className="errors" role="alert">
      {shownErrors(error).map((e, i) => (
        <li key={i} data-code={e.code}>
          <strong>{e.code}</strong> {e.message}
        </li>
      ))}
    </ul>
  );
}
