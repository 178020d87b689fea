// A private sshd on a loopback port for the tests of a remote Docker engine: sess is pointed at it
// as `root@127.0.0.1:<port>`, with `SESS_SSH_CONFIG` set to the client config it writes. The "remote"
// machine is this one, so its Docker socket is the local engine's /var/run/docker.sock.
// Needs root (sshd's privilege separation, root's login) and /usr/sbin/sshd (scripts/setup-docker.sh).
// One implementation for the tests and the bench: bench/sshd.mjs (plain Node); here, its types.
import * as sshd from '../../bench/sshd.mjs';

export interface TestSshd {
  port: number;
  /** `root@127.0.0.1:<port>` */
  target: string;
  /** an ssh client config (`ssh -F`) for SESS_SSH_CONFIG: key, known_hosts, batch mode */
  configFile: string;
  /** the temp dir holding keys, configs, the pid file and the log (/tmp/sess-sshd-XXXXXX: short enough for
   * sockets in it: ssh takes a ControlPath of at most 90 characters, as it binds `<path>.<16 random>` first,
   * and a forwarded local socket (`-L <sock>:...`) of at most 107) */
  dir: string;
  pid: number;
  stop(): void;
}

export const startSshd: () => Promise<TestSshd> = sshd.startSshd;
/** Whether a TCP connection to 127.0.0.1:port is accepted. */
export const accepts: (port: number) => Promise<boolean> = sshd.accepts;
/** Whether the process runs (a zombie counts as gone). */
export const alive: (pid: number) => boolean = sshd.alive;
