/** The error module on its own: sanitising Codat's text, and validation details kept off the wire. */
import { describe, expect, it } from "vitest";
import { CodatClient } from "../../src/codat/client.js";
import { CodatRequestError, codatValidationOf, redactFromUpstreamText, sanitizeUpstreamText } from "../../src/codat/errors.js";
import { COMPANY, CONNECTION, useFakeCodat, sendJson } from "./fake-codat.js";

describe("sanitizeUpstreamText", () => {
  it.each([
    ["Invalid query: field 'foo' unknown", "Invalid query: field 'foo' unknown"],
    ["See https://api.codat.io/companies/x?apiKey=1 for details", "See for details"],
    ["Proxy at 10.0.0.5:8080 refused", "Proxy at refused"],
    ["Header was Authorization: Basic c2VjcmV0", "Header was"],
    ["token bearer abc.def", "token"],
    ["line\r\nbreak\u0000here", "line break here"],
    ["https://only.a.url/", undefined],
    ["", undefined],
  ])("%j → %j", (input, expected) => {
    expect(sanitizeUpstreamText(input)).toBe(expected);
  });

  it("caps the length", () => {
    const text = sanitizeUpstreamText("field invalid ".repeat(100));
    expect(text?.length).toBeGreaterThan(100);
    expect(text?.length).toBeLessThanOrEqual(200);
  });

  it("removes long opaque tokens and registered secrets wherever they appear", () => {
    redactFromUpstreamText("sk_test_secretvalue");
    expect(sanitizeUpstreamText("Invalid API key sk_test_secretvalue for company")).toBe("Invalid API key for company");
    expect(sanitizeUpstreamText(`Credential ${"QmFzZTY0".repeat(6)} was rejected`)).toBe("Credential was rejected");
    expect(sanitizeUpstreamText("Customer 6f1c2b9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f not found")).toContain(
      "6f1c2b9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    );
  });
});

describe("validation on a rejected write", () => {
  const fake = useFakeCodat();

  it("is available to the caller but not serialised", async () => {
    fake.always((_request, response) =>
      sendJson(response, 400, {
        statusCode: 400,
        service: "PushApi",
        error: "Validation failed",
        correlationId: "corr-400",
        canBeRetried: "False",
        validation: {
          errors: [{ itemId: "customerName", message: "Customer name is required", validatorName: "Required" }],
          warnings: null,
        },
      }),
    );
    const codat = new CodatClient({ baseUrl: fake.origin });
    const error: unknown = await codat.createCustomer(COMPANY, CONNECTION, { status: "Active" }, { idempotencyKey: "k-1" }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(CodatRequestError);
    expect(codatValidationOf(error)).toEqual({
      errors: [{ itemId: "customerName", message: "Customer name is required", validatorName: "Required" }],
      warnings: [],
    });
    expect(error instanceof CodatRequestError ? error.status : undefined).toBe(400);
    expect(Object.keys(error as object)).not.toContain("validation");
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      message: "Codat rejected the request as invalid: Validation failed",
      extensions: {
        code: "BAD_USER_INPUT",
        upstream: { status: 400, correlationId: "corr-400", canBeRetried: "False", service: "PushApi" },
      },
    });
    expect(fake.received).toHaveLength(1);
  });

  it("keeps Codat's itemId (the field path) of every validation item", async () => {
    fake.always((_request, response) =>
      sendJson(response, 400, {
        statusCode: 400,
        error: "Validation failed",
        validation: {
          errors: [
            { itemId: "contacts[0].phone[1].type", message: "Contacts[0].Phone[1].Type must be a string", validatorName: "RequestBody" },
          ],
          warnings: [{ itemId: "addresses[0].postalCode", message: "Postal code looks short", validatorName: "Address" }],
        },
      }),
    );
    const codat = new CodatClient({ baseUrl: fake.origin });
    const error: unknown = await codat
      .createCustomer(COMPANY, CONNECTION, { status: "Active" }, { idempotencyKey: "k-2" })
      .catch((e: unknown) => e);
    expect(codatValidationOf(error)).toEqual({
      errors: [
        { itemId: "contacts[0].phone[1].type", message: "Contacts[0].Phone[1].Type must be a string", validatorName: "RequestBody" },
      ],
      warnings: [{ itemId: "addresses[0].postalCode", message: "Postal code looks short", validatorName: "Address" }],
    });
  });

  it("is absent when Codat sent none", () => {
    expect(codatValidationOf(new Error("x"))).toBeUndefined();
  });
});

describe("Codat's error detail in extensions.upstream", () => {
  const fake = useFakeCodat();
  const codat = () => new CodatClient({ baseUrl: fake.origin });

  it("passes canBeRetried, detailedErrorCode and service as Codat's ErrorMessage gives them", async () => {
    fake.always((_request, response) =>
      sendJson(response, 404, {
        statusCode: 404,
        service: "PublicApi",
        error: "No data available for customers with ID x",
        correlationId: "corr-404",
        canBeRetried: "Unknown",
        detailedErrorCode: 40401,
      }),
    );
    const error: unknown = await codat()
      .listCustomers(COMPANY, { page: 1, pageSize: 1 })
      .catch((e: unknown) => e);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({
      extensions: {
        code: "NOT_FOUND",
        upstream: { status: 404, correlationId: "corr-404", canBeRetried: "Unknown", detailedErrorCode: 40401, service: "PublicApi" },
      },
    });
  });

  it("drops values that are not the short token or integer the schema says (nothing of Codat's text leaks through them)", async () => {
    fake.always((_request, response) =>
      sendJson(response, 404, {
        statusCode: 404,
        service: "see https://internal.example:8443/x",
        error: "Not found",
        canBeRetried: { nested: true },
        detailedErrorCode: "40401",
      }),
    );
    const error: unknown = await codat()
      .listCustomers(COMPANY, { page: 1, pageSize: 1 })
      .catch((e: unknown) => e);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ extensions: { code: "NOT_FOUND", upstream: { status: 404 } } });
    expect(JSON.stringify(error)).not.toMatch(/internal\.example|nested|40401/);
  });
});
