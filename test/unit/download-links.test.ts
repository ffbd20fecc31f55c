import { createHmac } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { configProblems } from "../helpers/config.js";
import { contentDisposition, safeContentType } from "../../src/downloads/headers.js";
import { DownloadLinks, NAME_MAX_BYTES, shortenName } from "../../src/downloads/links.js";

const SECRET = "unit-test-secret-unit-test-secret-0000";
const links = (now = () => 1_700_000_000_000) =>
  new DownloadLinks({ secret: SECRET, ttlSeconds: 300, baseUrl: () => "https://gw.example", now });

const TARGET = {
  companyId: "8a210b68-6988-11ed-a1eb-0242ac120002",
  connectionId: "2e9d2c44-f675-40ba-8049-353bfcb5e171",
  customerId: "1f6e4c2a-8b3d-4e5f-9a7c-0d1e2f3a4b5c",
  attachmentId: "b1a2c3d4-e5f6-4789-8abc-def012345678",
  name: "Invoice 2023-04.pdf",
};

describe("download tokens", () => {
  it("round-trips every field exactly, ids as given", async () => {
    const signer = links();
    for (const target of [
      TARGET,
      { ...TARGET, customerId: "legacy cust {0042}", attachmentId: "ATT:1+2 é", name: 'Contract "final"\r\nv2.docx' },
      { ...TARGET, companyId: TARGET.companyId.toUpperCase(), name: null, caller: "user-1" },
    ]) {
      const verdict = await signer.verify(await signer.sign(target), { caller: "user-1" });
      const { name, ...rest } = target;
      expect(verdict).toEqual({ ok: true, grant: { ...rest, ...(name ? { name } : {}), expiresAt: 1_700_000_300 } });
    }
  });

  it("is a standard HS256 JWS with the documented claims, in a URL-safe link", async () => {
    const url = await links().url({ ...TARGET, caller: "user-1" });
    expect(url).toMatch(/^https:\/\/gw\.example\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(url.length).toBeLessThan(512);
    const token = url.slice("https://gw.example/downloads/".length);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "codat-gateway-download+jwt" });
    expect(decodeJwt(token)).toEqual({
      aud: "codat-gateway/download",
      exp: 1_700_000_300,
      sub: "user-1",
      cmp: TARGET.companyId,
      con: TARGET.connectionId,
      cus: TARGET.customerId,
      att: TARGET.attachmentId,
      nam: TARGET.name,
    });
  });

  it("refuses altered, re-encoded, re-typed and other-secret tokens", async () => {
    const signer = links();
    const token = await signer.sign(TARGET);
    const [header = "", payload = "", mac = ""] = token.split(".");
    const claims = decodeJwt(token);
    const reencoded = Buffer.from(JSON.stringify({ ...claims, att: "another-attachment" })).toString("base64url");
    const key = createHmac("sha256", SECRET).update("codat-gateway/download-links/v1").digest();
    const otherSecret = new DownloadLinks({
      secret: "another-secret-another-secret-1234",
      ttlSeconds: 300,
      baseUrl: () => "",
      now: () => 1_700_000_000_000,
    });
    for (const bad of [
      `${header}.${reencoded}.${mac}`,
      `${header}.${payload}=.${mac}`,
      `${header}.${payload}.${mac}.x`,
      `${header}.${payload}`,
      await otherSecret.sign(TARGET),
      // Right key, but not a download token: another typ or audience, or no expiry.
      await new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256" }).sign(key),
      await new SignJWT({ ...claims, aud: "elsewhere" }).setProtectedHeader({ alg: "HS256", typ: "codat-gateway-download+jwt" }).sign(key),
      await new SignJWT({ ...claims, exp: undefined }).setProtectedHeader({ alg: "HS256", typ: "codat-gateway-download+jwt" }).sign(key),
      // Right key and type, a claim missing.
      await new SignJWT({ ...claims, att: undefined }).setProtectedHeader({ alg: "HS256", typ: "codat-gateway-download+jwt" }).sign(key),
    ]) {
      expect(await signer.verify(bad)).toEqual({ ok: false, reason: "invalid" });
    }
    expect((await signer.verify(token)).ok).toBe(true);
  });

  it("expires on the injected clock", async () => {
    let now = 1_700_000_000_000;
    const signer = links(() => now);
    const token = await signer.sign(TARGET);
    now += 299_000;
    expect((await signer.verify(token)).ok).toBe(true);
    now += 1_000;
    expect(await signer.verify(token)).toEqual({ ok: false, reason: "expired" });
  });

  it("binds a caller: another authenticated caller is refused, an unauthenticated plain link is served", async () => {
    const signer = links();
    const token = await signer.sign({ ...TARGET, caller: "alice" });
    expect((await signer.verify(token, { caller: "alice" })).ok).toBe(true);
    expect(await signer.verify(token, { caller: "bob" })).toEqual({ ok: false, reason: "wrong_caller" });
    expect((await signer.verify(token)).ok).toBe(true);
  });

  it("shortens long names to the byte budget, keeping the extension and whole characters", () => {
    const long = `${"報告".repeat(200)}.pdf`;
    const short = shortenName(long);
    expect(Buffer.byteLength(short)).toBeLessThanOrEqual(NAME_MAX_BYTES);
    expect(short.endsWith("….pdf")).toBe(true);
    expect(short).not.toContain("\uFFFD");
    expect(shortenName("a.txt")).toBe("a.txt");
  });
});

describe("contentDisposition", () => {
  const decode = (header: string) => decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(header)?.[1] ?? "");

  it.each([
    ["plain.pdf", "attachment; filename=\"plain.pdf\"; filename*=UTF-8''plain.pdf"],
    ['Contract "final" v2.docx', "attachment; filename=\"Contract _final_ v2.docx\"; filename*=UTF-8''Contract%20%22final%22%20v2.docx"],
    ["Überweisung März.png", "attachment; filename=\"_berweisung M_rz.png\"; filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.png"],
    ["O'Brien (1)*.xlsx", "attachment; filename=\"O'Brien (1)*.xlsx\"; filename*=UTF-8''O%27Brien%20%281%29%2A.xlsx"],
    ["back\\slash 100%.txt", "attachment; filename=\"back_slash 100_.txt\"; filename*=UTF-8''back%5Cslash%20100%25.txt"],
  ])("encodes %j", (name, header) => {
    expect(contentDisposition(name)).toBe(header);
    expect(decode(header)).toBe(name);
  });

  it("drops CR, LF and other controls, and survives lone surrogates", () => {
    const header = contentDisposition("evil\r\nSet-Cookie: x=1\u0000.txt");
    expect(header).not.toMatch(/[\r\n\u0000]/);
    expect(decode(header)).toBe("evilSet-Cookie: x=1.txt");
    expect(contentDisposition("bad\uD800name.pdf")).toContain("filename*=UTF-8''bad%EF%BF%BDname.pdf");
  });

  it("is plain `attachment` without a usable name", () => {
    expect(contentDisposition(null)).toBe("attachment");
    expect(contentDisposition(" \r\n ")).toBe("attachment");
  });
});

describe("safeContentType", () => {
  it("passes well-formed media types and replaces anything else", () => {
    expect(safeContentType("application/pdf")).toBe("application/pdf");
    expect(safeContentType('text/plain; charset="utf-8"')).toBe('text/plain; charset="utf-8"');
    expect(safeContentType("text/html\r\nSet-Cookie: a=b")).toBe("application/octet-stream");
    expect(safeContentType("nonsense")).toBe("application/octet-stream");
    expect(safeContentType(undefined)).toBe("application/octet-stream");
  });
});

describe("download configuration", () => {
  it("defaults to a derived base URL and a 300-second lifetime", () => {
    expect(parseConfig({})).toMatchObject({ publicUrl: undefined, downloadLinkTtlSeconds: 300 });
  });

  it("normalises PUBLIC_URL and reads DOWNLOAD_LINK_TTL_SECONDS", () => {
    expect(parseConfig({ PUBLIC_URL: "https://files.example.com/gw/", DOWNLOAD_LINK_TTL_SECONDS: "60" })).toMatchObject({
      publicUrl: "https://files.example.com/gw",
      downloadLinkTtlSeconds: 60,
    });
  });

  it("rejects a relative or credential-bearing PUBLIC_URL and an unbounded lifetime, without echoing the URL", () => {
    expect(configProblems({ PUBLIC_URL: "/relative" })).toEqual([expect.stringMatching(/^PUBLIC_URL/)]);
    expect(configProblems({ PUBLIC_URL: "ftp://x.example" })).toEqual([expect.stringMatching(/^PUBLIC_URL/)]);
    const withSecret = configProblems({ PUBLIC_URL: "https://u:hunter2@x.example", DOWNLOAD_LINK_TTL_SECONDS: "999999" });
    expect(withSecret).toHaveLength(2);
    expect(withSecret.join("\n")).not.toContain("hunter2");
  });
});
