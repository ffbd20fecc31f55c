/** Grafbase's platform packages, as test/tools/grafbase-cli/package.json lists them (optional dependencies). */
export declare const PLATFORM_PACKAGES: readonly string[];
/** `<os>-<cpu>` as npm's os/cpu fields name them (process.platform, process.arch). */
export declare const PLATFORM: string;
/** The absolute path of the Grafbase CLI for this machine, or undefined when none is installed. */
export declare function grafbaseBinary(): string | undefined;
/** One line saying why there is no binary (for test skips and CI failures). */
export declare const GRAFBASE_MISSING_REASON: string;
