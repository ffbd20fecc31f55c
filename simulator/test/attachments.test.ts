import { describe, expect, it } from "vitest";
import type { CodatAttachment, CodatAttachments, CodatErrorMessage } from "../src/codat-types.js";
import {
  ATTACHMENT_CHUNK_SIZE,
  ATTACHMENT_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
  attachmentBytes,
  attachmentSha256,
  createDemoStore,
  type AttachmentRecord,
} from "../src/index.js";
import { attachmentsPath, demoAttachments, downloadHash, getJson, useSimulator } from "./helpers.js";

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

function synthetic(fileSize: number, contentType: string, contentSeed = 7): AttachmentRecord {
  return { customerId: "c", connectionId: "x", contentSeed, attachment: { id: "a", name: "n", contentType, fileSize } };
}

async function collect(record: AttachmentRecord): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of attachmentBytes(record)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

describe("attachments: list and get", () => {
  const sim = useSimulator();

  it("lists a customer's attachments (empty for a customer with none)", async () => {
    const expected = sim.store
      .company(DEMO_COMPANY_ID)
      ?.attachments.get(ATTACHMENT_CUSTOMER_ID)
      ?.map((a) => a.attachment);
    expect(expected).toHaveLength(3);
    const res = await getJson<CodatAttachments>(sim, attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ attachments: expected });
    const large = await getJson<CodatAttachments>(sim, attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, LARGE_ATTACHMENT_CUSTOMER_ID));
    expect(large.body.attachments?.some((a) => a.id === LARGE_ATTACHMENT_ID && a.fileSize === LARGE_ATTACHMENT_SIZE)).toBe(true);
    const without = sim.store
      .company(DEMO_COMPANY_ID)
      ?.customers.all()
      .find((c) => !sim.store.company(DEMO_COMPANY_ID)?.attachments.has(c.id));
    const none = await getJson<CodatAttachments>(sim, attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, without?.id ?? ""));
    expect(none).toMatchObject({ status: 200, body: { attachments: [] } });
    const second = sim.store.company(SECOND_COMPANY_ID)?.customers.all()[0]?.id ?? "";
    expect((await getJson(sim, attachmentsPath(SECOND_COMPANY_ID, SECOND_CONNECTION_ID, second))).body).toEqual({ attachments: [] });
  });

  it("gets each attachment; 404 for unknown company, connection, customer or attachment", async () => {
    for (const record of demoAttachments(sim)) {
      const res = await getJson<CodatAttachment>(
        sim,
        attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, record.customerId, record.attachment.id),
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual(record.attachment);
    }
    const [first] = sim.store.company(DEMO_COMPANY_ID)?.attachments.get(ATTACHMENT_CUSTOMER_ID) ?? [];
    const id = first?.attachment.id ?? "";
    const cases: Array<[string, RegExp]> = [
      [attachmentsPath(UNKNOWN_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID), /No company/],
      [attachmentsPath(DEMO_COMPANY_ID, UNKNOWN_ID, ATTACHMENT_CUSTOMER_ID), /Data connection/],
      [attachmentsPath(DEMO_COMPANY_ID, SECOND_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID), /Data connection/],
      [attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, UNKNOWN_ID), /customers/],
      [attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, UNKNOWN_ID, id), /customers/],
      [attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID, UNKNOWN_ID), /attachments/],
      // An existing attachment of another customer is not reachable through this one.
      [attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID), /attachments/],
      [attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID, UNKNOWN_ID, true), /attachments/],
    ];
    for (const [path, error] of cases) {
      const res = await getJson<CodatErrorMessage>(sim, path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.body.error).toMatch(error);
    }
  });
});

describe("attachments: download", () => {
  const sim = useSimulator();

  it("serves fileSize bytes with the attachment's type, deterministically, matching attachmentSha256", async () => {
    const records = demoAttachments(sim)
      .filter((r) => r.attachment.id !== LARGE_ATTACHMENT_ID)
      .slice(0, 12);
    for (const record of records) {
      const a = await downloadHash(sim, record);
      const b = await downloadHash(sim, record);
      expect(a.status).toBe(200);
      expect(a.headers.get("content-type")).toBe(record.attachment.contentType);
      expect(a.headers.get("content-length")).toBe(String(record.attachment.fileSize));
      expect(a.headers.get("content-disposition")).toMatch(/^attachment; filename="[^"]*"; filename\*=UTF-8''/);
      expect(a.bytes).toBe(record.attachment.fileSize);
      expect(b.sha256).toBe(a.sha256);
      expect(a.sha256).toBe(await attachmentSha256(record));
    }
    const done = sim.downloads.slice(-records.length * 2);
    expect(done.every((d) => d.completed && !d.aborted && d.bytesSent === d.size)).toBe(true);
    // Same bytes from an independent store (nothing depends on the instance).
    const other = [...(createDemoStore().company(DEMO_COMPANY_ID)?.attachments.values() ?? [])].flat()[0];
    const mine = demoAttachments(sim)[0];
    expect(other && (await attachmentSha256(other))).toBe(mine && (await attachmentSha256(mine)));
  });

  it("content looks like its type: magic numbers, printable text; distinct seeds and block stamps give distinct bytes", async () => {
    expect((await collect(synthetic(100, "application/pdf"))).subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect([...(await collect(synthetic(100, "image/png"))).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(
      (await collect(synthetic(100, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))).subarray(0, 2).toString(),
    ).toBe("PK");
    expect((await collect(synthetic(5000, "text/csv"))).toString("latin1")).toMatch(/^[\x20-\x7e\n]+$/);
    // Exact sizes around block boundaries, including tiny and empty files.
    for (const size of [
      0,
      1,
      47,
      50,
      ATTACHMENT_CHUNK_SIZE - 1,
      ATTACHMENT_CHUNK_SIZE,
      ATTACHMENT_CHUNK_SIZE + 1,
      3 * ATTACHMENT_CHUNK_SIZE + 5,
    ]) {
      expect((await collect(synthetic(size, "application/octet-stream"))).length).toBe(size);
    }
    const two = await collect(synthetic(2 * ATTACHMENT_CHUNK_SIZE, "application/octet-stream"));
    expect(two.subarray(0, ATTACHMENT_CHUNK_SIZE).equals(two.subarray(ATTACHMENT_CHUNK_SIZE))).toBe(false); // stamped
    expect(await attachmentSha256(synthetic(1000, "application/octet-stream", 1))).not.toBe(
      await attachmentSha256(synthetic(1000, "application/octet-stream", 2)),
    );
  });

  it("HEAD answers the headers (Content-Length = fileSize) without a body or any generation", async () => {
    const before = sim.downloads.length;
    const path = attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID, true);
    const res = await fetch(`${sim.url}${path}`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(LARGE_ATTACHMENT_SIZE));
    expect(res.headers.get("content-type")).toBe("application/x-tar");
    expect(await res.text()).toBe("");
    expect(sim.downloads.length).toBe(before);
    expect(
      (
        await fetch(`${sim.url}${attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID, UNKNOWN_ID, true)}`, {
          method: "HEAD",
        })
      ).status,
    ).toBe(404);
  });
});
