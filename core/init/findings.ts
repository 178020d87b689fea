// What `sess init` found in a repository, before any choice is made: the scanners fill these in,
// the draft (draft.ts) decides what becomes of them. Paths are relative to the checkout's root.

/** The compose files compose itself would pick, and the services of their merged model. */
export interface ComposeFindings {
  files: string[];
  /** how the files were read, for the header: `docker compose 2.26.1`, or why compose was not asked */
  readWith: string;
  /** true when compose was not asked (not installed, or it refused): the model is our own approximation */
  approximate: boolean;
  services: ComposeServiceFinding[];
  /** other things worth a line in the header (a second base file compose ignores, ...) */
  notes: string[];
}

export interface ComposeServiceFinding {
  /** its name in the compose files */
  name: string;
  image?: string;
  /** `build:` context inside the checkout ('.' for the root); null: it builds, but from elsewhere (a URL, outside) */
  build?: string | null;
  /** published TCP ports, in the order of the merged model, one per container port */
  ports: number[];
  /** published ports sess cannot name (udp, sctp): compose keeps them, sess leases their host port */
  otherPorts: string[];
  dependsOn: { name: string; condition?: string }[];
  profiles: string[];
  /** the first http(s) URL of its healthcheck, if any: the best hint at a health path */
  healthUrl?: string;
}

/** A way to run something on the host, found in one folder. */
export interface HostCandidate {
  /** what to call the service: the package's folder, the Procfile process, ... */
  name: string;
  /** its folder ('.' for the root) */
  cwd: string;
  command: string;
  /** where the command came from, for the comment: `package.json scripts.dev`, `Procfile (web)` */
  source: string;
  /** does it serve HTTP (a dev server, a web process)? decides the ready probe */
  web: boolean;
  /** does it listen on a port at all (a Procfile worker does not)? */
  listens: boolean;
  /** a guess at the port it would listen on in a container (meaningless on the host, but required) */
  containerPort: number;
  /** how the leased port reaches the command besides $PORT (vite ignores PORT): `expr` is `${ports.web}` */
  portArgs?: (expr: string) => string;
  /** things the user should know (a port written into the script) */
  warnings: string[];
}

export interface HostFindings {
  candidates: HostCandidate[];
  /** the package manager the lock file says, when a package.json was found */
  packageManager?: { name: string; from: string };
  /** where the candidates came from, for the header (`package.json workspaces: packages/*`) */
  sources: string[];
  notes: string[];
}
