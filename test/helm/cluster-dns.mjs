// Preloaded (NODE_OPTIONS=--import=<this file>) into the processes that stand in for pods: the
// cluster's DNS for them. Names ending in .svc.cluster.local resolve through the JSON map in
// CLUSTER_DNS_HOSTS (name -> IPv4); a name under that suffix missing from the map fails as
// NXDOMAIN would; every other name goes to the real resolver. net.connect (and so http.Agent and
// fetch) reads dns.lookup at each call, so replacing it here is enough.
import dns from 'node:dns';

const hosts = JSON.parse(process.env.CLUSTER_DNS_HOSTS ?? '{}');
const SUFFIX = '.svc.cluster.local';
const ours = (name) => typeof name === 'string' && name.replace(/\.$/, '').endsWith(SUFFIX);
const notFound = (name) => Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: name });

const lookup = dns.lookup;
dns.lookup = function (name, options, callback) {
  if (!ours(name)) return lookup.apply(this, arguments);
  const cb = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options !== null && options.all;
  const address = hosts[name.replace(/\.$/, '')];
  process.nextTick(() => {
    if (address === undefined) cb(notFound(name));
    else if (all) cb(null, [{ address, family: 4 }]);
    else cb(null, address, 4);
  });
  return {};
};

const promised = dns.promises.lookup;
dns.promises.lookup = function (name, options) {
  if (!ours(name)) return promised.apply(this, arguments);
  const address = hosts[name.replace(/\.$/, '')];
  if (address === undefined) return Promise.reject(notFound(name));
  return Promise.resolve(typeof options === 'object' && options?.all ? [{ address, family: 4 }] : { address, family: 4 });
};
