// The labels sess puts on every container of a session: how status, down and doctor find them.
// Apart from the overlay on purpose: reading containers must not load the yaml library.
export const LABEL_REPO = 'dev.sess.repo';
export const LABEL_SESSION = 'dev.sess.session';
export const LABEL_SERVICE = 'dev.sess.service';
/** On the containers of a project on a remote engine (modes/remote): the client that owns it. */
export const LABEL_CLIENT = 'dev.sess.client';
