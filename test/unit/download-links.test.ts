import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import { contentDisposition, safeContentType } from "../../src/downloads/headers.js";
import { DownloadLinks, NAME_MAX_BYTES, shortenName } from "../../src/downloads/links.js";

const SECRET = "unit-test-secret-unit-test-secret-0000";
const links = (now = () => 1_700_000_000_000) => new DownloadLinks({ secret: SECRET, ttlSeconds: 300, baseUrl: () => "https://gw.example", now });

const TARGET = {
  companyId: "8a210b68-6988-11ed-a1eb-0242ac120002",
  connectionId: "2e9d2c44-f675-40ba-8049-353bfcb5e171",
  customerId: "1f6e4c2a-8b3d-4e5f-9a7c-0d1e2f3a4b5c",
  attachmentId: "b1a2c3d4-e5f6-4789-8abc-def012345678",
  name: "Invoice 2023-04.pdf",
};

describe("download tokens", () => {
  it("round-trips every field exactly, UUIDs compactly and other ids as given", () => {
    const signer = links();
    for (const target of [
      TARGET,
      { ...TARGET, customerId: "legacy cust {0042}", attachmentId: "ATT:1+2 é", name: 'Contract "final"\r\nv2.docx' },
      { ...TARGET, companyId: TARGET.companyId.toUpperCase(), name: null, caller: "user-1" },
    ]) {
      const verdict = signer.verify(signer.sign(target), { caller: "user-1" });
      const { name, ...rest } = target;
      expect(verdict).toEqual({ ok: true, grant: { ...rest, ...(name ? { name } : {}), expiresAt: 1_700_000_300 } });
    }
  });

  it("keeps a typical link short and URL-safe", () => {
    const url = links().url(TARGET);
    expect(url).toMatch(/^https:\/\/gw\.example\/downloads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(url.length).toBeLessThan(256);
  });

  it("refuses non-canonical encodings of a valid token", () => {
    const signer = links();
    const token = signer.sign(TARGET);
    const [payload = "", mac = ""] = token.split(".");
    expect(signer.verify(`${payload}=.${mac}`).ok).toBe(false);
    expect(signer.verify(`${payload}.${mac}.x`).ok).toBe(false);
  });

  it("binds a caller: another authenticated caller is refused, an unauthenticated plain link is served", () => {
    const signer = links();
    const token = signer.sign({ ...TARGET, caller: "alice" });
    expect(signer.verify(token, { caller: "alice" }).ok).toBe(true);
    expect(signer.verify(token, { caller: "bob" })).toEqual({ ok: false, reason: "wrong_caller" });
    expect(signer.verify(token).ok).toBe(true);
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
    ["plain.pdf", 'attachment; filename="plain.pdf"; filename*=UTF-8\'\'plain.pdf'],
    ['Contract "final" v2.docx', 'attachment; filename="Contract _final_ v2.docx"; filename*=UTF-8\'\'Contract%20%22final%22%20v2.docx'],
    ["Überweisung März.png", 'attachment; filename="_berweisung M_rz.png"; filename*=UTF-8\'\'%C3%9Cberweisung%20M%C3%A4rz.png'],
    ["O'Brien (1)*.xlsx", 'attachment; filename="O\'Brien (1)*.xlsx"; filename*=UTF-8\'\'O%27Brien%20%281%29%2A.xlsx'],
    ["back\\slash 100%.txt", 'attachment; filename="back_slash 100_.txt"; filename*=UTF-8\'\'back%5Cslash%20100%25.txt'],
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
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
      }
      return [];
    };
    expect(problems({ PUBLIC_URL: "/relative" })).toEqual([expect.stringMatching(/^PUBLIC_URL/)]);
    expect(problems({ PUBLIC_URL: "ftp://x.example" })).toEqual([expect.stringMatching(/^PUBLIC_URL/)]);
    const withSecret = problems({ PUBLIC_URL: "https://u:hunter2@x.example", DOWNLOAD_LINK_TTL_SECONDS: "999999" });
    expect(withSecret).toHaveLength(2);
    expect(withSecret.join("\n")).not.toContain("hunter2");
  });
});
