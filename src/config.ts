/** The configuration lives in src/config/ (one model per concern); this path stays for the modules that import it. */
export * from "./config/index.js";
