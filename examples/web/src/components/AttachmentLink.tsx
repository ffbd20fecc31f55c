import { graphql, getFragmentData, type FragmentType } from "../__generated__";

export const AttachmentLinkFragment = graphql(`
  fragment AttachmentLink_attachment on Attachment {
    name
    contentType
    fileSize
    downloadUrl
  }
`);

/**
 * A plain link: `downloadUrl` is a signed, short-lived URL the browser follows with no headers (the gateway
 * streams the file with `Content-Disposition: attachment`). It is a bearer credential: never log or store it;
 * the detail query asks for fresh links each time it is opened.
 */
export function AttachmentLink(props: { attachment: FragmentType<typeof AttachmentLinkFragment> }) {
  const attachment = getFragmentData(AttachmentLinkFragment, props.attachment);
  const name = attachment.name ?? "attachment";
  return (
    <li>
      <a href={attachment.downloadUrl} download={name}>
        {name}
      </a>{" "}
      <span className="meta">
        {attachment.contentType} {attachment.fileSize !== null && attachment.fileSize !== undefined ? formatBytes(attachment.fileSize) : ""}
      </span>
    </li>
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
