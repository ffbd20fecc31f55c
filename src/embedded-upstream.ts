/**
 * The embedded Codat simulator, as the gateway sees it. The simulator is its own workspace package
 * (`codat-simulator`, in simulator/): it depends on the gateway's generated Codat types, never the other way
 * round, so the gateway names only the few members it calls (below) and loads the package with a dynamic
 * import, only when it serves the embedded upstream. A production install without the package still runs
 * against Codat; asking it for the simulator then fails with a clear message.
 *
 * test/unit/embedded-upstream.test.ts checks at compile time that the package satisfies `SimulatorPackage`.
 */

export interface EmbeddedSimulator {
  /** Base URL, e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  close(): Promise<void>;
}

export interface SimulatorPackage {
  startSimulator(options: {
    latencyMs?: number;
    /** Completed pushes announced as Codat's signed webhooks to `url` (read at each attempt). */
    webhooks?: { url: () => string | undefined; secret: string };
  }): Promise<EmbeddedSimulator>;
  readonly DEMO_COMPANY_ID: string;
  readonly DEMO_CONNECTION_ID: string;
}

/** Not a literal in the import() below, so the gateway's build neither type-checks nor bundles the simulator. */
const SIMULATOR_PACKAGE: string = "codat-simulator";

export class SimulatorNotInstalledError extends Error {
  constructor() {
    super(
      `the embedded simulator (the ${SIMULATOR_PACKAGE} package) is not installed, as in a production install: set CODAT_API_KEY (or CODAT_BASE_URL) to serve Codat`,
    );
    this.name = "SimulatorNotInstalledError";
  }
}

export async function loadSimulator(specifier: string = SIMULATOR_PACKAGE): Promise<SimulatorPackage> {
  let loaded: unknown;
  try {
    loaded = await import(specifier);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") throw new SimulatorNotInstalledError();
    throw error;
  }
  if (!isSimulatorPackage(loaded)) throw new Error(`${specifier} does not export startSimulator, DEMO_COMPANY_ID and DEMO_CONNECTION_ID`);
  return loaded;
}

function isSimulatorPackage(value: unknown): value is SimulatorPackage {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Record<keyof SimulatorPackage, unknown>>;
  return (
    typeof candidate.startSimulator === "function" &&
    typeof candidate.DEMO_COMPANY_ID === "string" &&
    typeof candidate.DEMO_CONNECTION_ID === "string"
  );
}
