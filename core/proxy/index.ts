// The machine's proxy, as the rest of sess uses it: import this module lazily (`await
// import('./proxy/index.js')`), so that commands that never touch the proxy do not load it.
//
//   ensureProxy()            start it if it is not running (up)
//   setSessionRoutes(...)    replace one session's routes (up, down with statuses)
//   removeSessionRoutes(...) forget them (rm)
//   markSessionRoutes(...)   give them a status, drop green ones (down)
//   urlsFor(...)             the URLs a session's services have, before anything runs
//   setGreenRoute(...)       show a blue-green candidate at green.<service>.<session>.<repo>
//   switchRoute(...)         promote: the service's route now goes to the new target
//   waitDrained(...)         until nothing is in flight to the old target
//   proxyHealth()            doctor: running, down, unresponsive, port taken
export { ensureProxy, stopProxy, proxyHealth, type ProxyInfo, type ProxyHealth } from './supervise.js';
export {
  setSessionRoutes,
  removeSessionRoutes,
  markSessionRoutes,
  urlsFor,
  switchRoute,
  setGreenRoute,
  routesOf,
  readTable,
  type RouteInput,
  type SessionRoutesInput,
  type SessionUrls,
  type ListedRoute,
} from './routes.js';
export { waitDrained, type DrainResult } from './drain.js';
export { hostLabel } from './labels.js';
export { DEFAULT_PROXY_PORT, proxyPort, proxyPaths } from './paths.js';
export type { RouteStatus, StatusDocument } from '../../proxy/table.js';
