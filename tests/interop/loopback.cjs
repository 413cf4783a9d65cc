// loopback.cjs: preloaded into Drydock (node --require) so that every
// server it opens without naming a host listens on 127.0.0.1 only.
// Drydock has no bind-address setting; a test must not open a port to
// the network.
'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const a = args[0];
  if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  } else if (a && typeof a === 'object' && a.path === undefined && !a.host) {
    args[0] = Object.assign({}, a, { host: '127.0.0.1' });
  }
  return listen.apply(this, args);
};
