#!/usr/bin/env python3
"""Checks the rendered network policies for meaning: a table of (values set,
source namespace + labels or address, destination, port[, HTTP method and
path]) -> allowed or denied, evaluated over the policies `helm template`
renders, by the semantics of Kubernetes NetworkPolicy and of Cilium's
CiliumNetworkPolicy (the subset the chart uses: endpoint selectors with the
namespace rule of pkg/k8s/apis/cilium.io/utils/utils.go getEndpointSelector,
fromEntities, toCIDR, toFQDNs matchName, ports, HTTP method/path regexes).
Usage: netpol_eval.py CHART (helm on PATH). Prints 'N passed, N failed'."""
import ipaddress, re, subprocess, sys
import yaml

CHART = sys.argv[1]
NS = "casa-runtime"
RELEASE = "casa"
CASA = {"app.kubernetes.io/name": "casa-runtime", "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "server"}


def render(values, *extra):
    out = subprocess.run(["helm", "template", RELEASE, CHART, "-n", NS, "--kube-version", "1.36.0", "-f", f"{CHART}/ci/{values}", *extra],
                         check=True, capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    return docs


class Pod:
    def __init__(self, ns, ns_labels=None, labels=None, ip=None, ports=None, entity=None):
        self.ns, self.labels, self.ip, self.ports, self.entity = ns, labels or {}, ip, ports or {}, entity
        self.ns_labels = {**(ns_labels or {}), "kubernetes.io/metadata.name": ns} if ns else {}


def casa_pod(docs):
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    c = sts["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    return Pod(NS, {}, sts["spec"]["template"]["metadata"]["labels"], ip="10.1.0.5", ports=ports)


def selects(sel, labels):
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vals: return False
        if op == "NotIn" and k in labels and labels[k] in vals: return False
        if op == "Exists" and k not in labels: return False
        if op == "DoesNotExist" and k in labels: return False
    return True


def in_block(ip, block):
    if ip is None:
        return False
    a = ipaddress.ip_address(ip)
    return a in ipaddress.ip_network(block["cidr"]) and not any(a in ipaddress.ip_network(x) for x in block.get("except") or [])


# ---- Kubernetes NetworkPolicy ---------------------------------------------
def k8s_peer(peer, policy_ns, other):
    if "ipBlock" in peer:
        return in_block(other.ip, peer["ipBlock"])
    if other.ns is None:  # an address outside the cluster matches only ipBlocks
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.ns_labels):
            return False
    elif other.ns != policy_ns:
        return False
    return selects(peer.get("podSelector", {}), other.labels)


def k8s_port(rule_ports, port, proto, named):
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != proto:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str):
            want = named.get(want)
        if want == port or (p.get("endPort") and want <= port <= p["endPort"]):
            return True
    return False


def k8s_allows(policies, direction, subject, other, port, proto):
    """direction Ingress: other -> subject:port; Egress: subject -> other:port."""
    mine = [p for p in policies if p["metadata"]["namespace"] == subject.ns
            and selects(p["spec"]["podSelector"], subject.labels)
            and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not mine:
        return True
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    named = subject.ports if direction == "Ingress" else other.ports
    for p in mine:
        for rule in p["spec"].get(key) or []:
            if (not rule.get(peers) or any(k8s_peer(x, p["metadata"]["namespace"], other) for x in rule[peers])) \
                    and k8s_port(rule.get("ports"), port, proto, named):
                return True
    return False


# ---- CiliumNetworkPolicy --------------------------------------------------
def identity(pod):
    if pod.entity:
        return None
    ids = {f"k8s:{k}": v for k, v in pod.labels.items()}
    ids["k8s:io.kubernetes.pod.namespace"] = pod.ns
    ids.update({f"k8s:io.cilium.k8s.namespace.labels.{k}": v for k, v in pod.ns_labels.items()})
    return ids


def cilium_selects(sel, policy_ns, pod):
    ids = identity(pod)
    if ids is None:
        return False
    keys = list((sel.get("matchLabels") or {}).keys()) + [e["key"] for e in sel.get("matchExpressions") or []]
    # getEndpointSelector: no namespace key and no namespace-label key -> the policy's namespace only.
    if not any(k in ("k8s:io.kubernetes.pod.namespace", "any:io.kubernetes.pod.namespace") for k in keys) \
            and not any(k.startswith(("k8s:io.cilium.k8s.namespace.labels.", "any:io.cilium.k8s.namespace.labels.")) for k in keys):
        if pod.ns != policy_ns:
            return False
    norm = lambda k: k if k.startswith(("k8s:", "any:")) else f"k8s:{k}"
    sel = {"matchLabels": {norm(k): v for k, v in (sel.get("matchLabels") or {}).items()},
           "matchExpressions": [{**e, "key": norm(e["key"])} for e in sel.get("matchExpressions") or []]}
    ids = {**ids, **{k.replace("k8s:", "any:", 1): v for k, v in ids.items()}}
    return selects(sel, ids)


def cilium_ports(to_ports, port, proto, http):
    if not to_ports:
        return True
    for tp in to_ports:
        if not any(str(p["port"]) == str(port) and p.get("protocol", "ANY") in (proto, "ANY") for p in tp["ports"]):
            continue
        rules = (tp.get("rules") or {}).get("http")
        if rules is None:
            return True
        if http is None:
            continue  # an L7 port lets no non-HTTP traffic through
        method, path = http
        if any(re.fullmatch(r.get("method", ".*"), method) and re.fullmatch(r.get("path", "/.*"), path) for r in rules):
            return True
    return False


def cilium_allows(policies, direction, subject, other, port, proto, http=None, fqdn=None):
    mine = [p for p in policies if p["metadata"]["namespace"] == subject.ns
            and selects(p["spec"]["endpointSelector"], subject.labels)]
    key = "ingress" if direction == "Ingress" else "egress"
    mine = [p for p in mine if key in p["spec"]]
    if not mine:
        return True
    for p in mine:
        pns = p["metadata"]["namespace"]
        for rule in p["spec"][key]:
            if direction == "Ingress":
                peer_ok = any(cilium_selects(s, pns, other) for s in rule.get("fromEndpoints") or []) \
                    or (other.entity in (rule.get("fromEntities") or []))
            else:
                peer_ok = any(cilium_selects(s, pns, other) for s in rule.get("toEndpoints") or []) \
                    or any(in_block(other.ip, {"cidr": c}) for c in rule.get("toCIDR") or []) \
                    or (fqdn is not None and any(f.get("matchName") == fqdn for f in rule.get("toFQDNs") or []))
            if peer_ok and cilium_ports(rule.get("toPorts"), port, proto, http):
                return True
    return False


# ---- the table ------------------------------------------------------------
MAS = Pod("agents", {"casa.dev/mas": "true"}, {"app": "agent"})
ADMIN = Pod("ops", {"casa.dev/admin": "true"}, {"app": "console"})
MON = Pod("monitoring", {}, {"app.kubernetes.io/name": "prometheus"})
STRANGER = Pod("default", {}, {"app": "curious"})
NEIGHBOUR = Pod(NS, {}, {"app": "other"})  # casa's namespace, not casa
OTHER_RELEASE = Pod(NS, {}, {**CASA, "app.kubernetes.io/instance": "other"})
LOOKALIKE = Pod("agents", {"casa.dev/mas": "true"}, dict(CASA))  # casa's labels, wrong namespace
PEER = Pod(NS, {}, dict(CASA), ip="10.1.0.6")
GATEWAY = Pod("gateway", {}, {"app": "ingress"})
GATEWAY_OTHER = Pod("gateway", {}, {"app": "debug"})
DNS = Pod("kube-system", {}, {"k8s-app": "kube-dns"})
FAKE_DNS = Pod("agents", {"casa.dev/mas": "true"}, {"k8s-app": "kube-dns"})
SCYLLA = Pod("scylla", {}, {"app.kubernetes.io/name": "scylla"})
SCYLLA_LOOKALIKE = Pod("default", {}, {"app.kubernetes.io/name": "scylla"})
NODE = Pod(None, ip="192.0.2.10", entity="host")
NOT_A_NODE = Pod(None, ip="198.51.100.7")
def addr(ip): return Pod(None, ip=ip)

# (values, flavour, direction, other, port, proto, http, fqdn, allowed, why)
I, E = "Ingress", "Egress"
CASES = [
    ("embedded", I, MAS, 8080, None, None, True, "a MAS namespace reaches the API"),
    ("embedded", I, ADMIN, 8080, None, None, True, "the admin namespace reaches the API"),
    ("embedded", I, MON, 8080, None, None, True, "Prometheus reaches the API port (/metrics)"),
    ("embedded", I, STRANGER, 8080, None, None, False, "a pod in an unlabelled namespace cannot reach the API"),
    ("embedded", I, NEIGHBOUR, 8080, None, None, False, "another pod of casa's namespace cannot reach the API"),
    ("embedded", I, MAS, 7400, None, None, False, "no cluster port on an embedded node"),
    ("embedded", I, MAS, 9090, None, None, False, "a MAS namespace reaches no other port"),
    ("embedded", E, DNS, 53, None, None, True, "casa resolves names"),
    ("embedded", E, FAKE_DNS, 53, None, None, False, "a pod labelled k8s-app=kube-dns elsewhere is not DNS"),
    ("embedded", E, addr("203.0.113.9"), 443, None, None, True, "casa reaches the LLM CIDR on 443"),
    ("embedded", E, addr("203.0.113.9"), 80, None, None, False, "the LLM CIDR on another port"),
    ("embedded", E, addr("198.51.100.1"), 443, None, None, False, "casa reaches no other address"),
    ("embedded", E, MAS, 8080, None, None, False, "casa does not call into MAS namespaces"),
    ("cluster", I, PEER, 7400, None, None, True, "a casa node reaches its peers' cluster port"),
    ("cluster", I, MAS, 7400, None, None, False, "a MAS namespace cannot reach the cluster port"),
    ("cluster", I, NEIGHBOUR, 7400, None, None, False, "another pod of casa's namespace cannot reach the cluster port"),
    ("cluster", I, OTHER_RELEASE, 7400, None, None, False, "another release's casa cannot reach the cluster port"),
    ("cluster", I, LOOKALIKE, 7400, None, None, False, "casa's labels in another namespace do not reach the cluster port"),
    ("cluster", I, GATEWAY, 8080, None, None, True, "the extra ingress (gateway pods) reaches the API"),
    ("cluster", I, GATEWAY_OTHER, 8080, None, None, False, "other pods of the gateway namespace do not"),
    ("cluster", I, GATEWAY, 7400, None, None, False, "the extra ingress does not reach the cluster port"),
    ("cluster", E, PEER, 7400, None, None, True, "casa reaches its peers"),
    ("cluster", E, SCYLLA, 9042, None, None, True, "casa reaches the store"),
    ("cluster", E, SCYLLA, 7000, None, None, False, "the store on another port"),
    ("cluster", E, SCYLLA_LOOKALIKE, 9042, None, None, False, "a scylla-labelled pod elsewhere is not the store"),
    ("cluster", E, addr("203.0.113.9"), 443, None, None, False, "no LLM egress unless configured"),
    ("cluster-cilium", I, MAS, 8080, ("POST", "/oauth/token"), None, True, "MAS: token issuance"),
    ("cluster-cilium", I, MAS, 8080, ("POST", "/oauth/token/exchange"), None, True, "MAS: token exchange"),
    ("cluster-cilium", I, MAS, 8080, ("POST", "/oauth/introspect"), None, True, "MAS: introspection"),
    ("cluster-cilium", I, MAS, 8080, ("GET", "/realms/0190c0de-0000-7000-8000-000000000000/.well-known/jwks.json"), None, True, "MAS: realm keys"),
    ("cluster-cilium", I, MAS, 8080, ("POST", "/trace/llm"), None, True, "MAS: LLM tool selections"),
    ("cluster-cilium", I, MAS, 8080, ("GET", "/apps"), None, False, "MAS: no management"),
    ("cluster-cilium", I, MAS, 8080, ("POST", "/mas"), None, False, "MAS: cannot create a MAS"),
    ("cluster-cilium", I, MAS, 8080, ("GET", "/trace"), None, False, "MAS: cannot read the trail"),
    ("cluster-cilium", I, MAS, 8080, ("GET", "/oauth/token"), None, False, "MAS: wrong method"),
    ("cluster-cilium", I, MAS, 8080, ("POST", "/oauth/token/../../apps"), None, False, "MAS: no path tricks past the regex"),
    ("cluster-cilium", I, MAS, 8080, ("GET", "/metrics"), None, False, "MAS: no metrics"),
    ("cluster-cilium", I, ADMIN, 8080, ("GET", "/apps"), None, True, "admin: management"),
    ("cluster-cilium", I, ADMIN, 8080, ("DELETE", "/mas/x"), None, True, "admin: deletes a MAS"),
    ("cluster-cilium", I, MON, 8080, ("GET", "/metrics"), None, True, "monitoring: GET /metrics"),
    ("cluster-cilium", I, MON, 8080, ("GET", "/trace"), None, False, "monitoring: nothing else"),
    ("cluster-cilium", I, MON, 8080, ("POST", "/oauth/token"), None, False, "monitoring: no tokens"),
    ("cluster-cilium", I, STRANGER, 8080, ("POST", "/oauth/token"), None, False, "unlabelled namespace: nothing"),
    ("cluster-cilium", I, NEIGHBOUR, 8080, ("POST", "/oauth/token"), None, False, "casa's namespace, not casa: nothing"),
    ("cluster-cilium", I, PEER, 7400, None, None, True, "peers: the cluster port"),
    ("cluster-cilium", I, MAS, 7400, None, None, False, "MAS: not the cluster port"),
    ("cluster-cilium", I, LOOKALIKE, 7400, None, None, False, "casa's labels in another namespace: not the cluster port"),
    ("cluster-cilium", E, DNS, 53, None, None, True, "DNS through the proxy"),
    ("cluster-cilium", E, addr("10.20.0.10"), 9042, None, None, True, "the store CIDR"),
    ("cluster-cilium", E, addr("10.20.1.10"), 9042, None, None, False, "outside the store CIDR"),
    ("cluster-cilium", E, addr("93.184.216.34"), 443, None, "embeddings.example.com", True, "the embeddings FQDN"),
    ("cluster-cilium", E, addr("93.184.216.35"), 443, None, "exfil.example.net", False, "any other name"),
    ("cluster-cilium", E, PEER, 7400, None, None, True, "peers"),
    ("cluster-monitoring", I, MON, 8080, None, None, True, "Prometheus scrapes"),
    ("cluster-monitoring", I, STRANGER, 8080, None, None, False, "an unlabelled namespace does not"),
    ("collector", I, NODE, 8080, None, None, True, "the collector's reports from a node address"),
    ("collector", I, NOT_A_NODE, 8080, None, None, False, "any other address"),
    ("collector", I, MAS, 8080, None, None, True, "MAS namespaces as before"),
]


def main():
    rendered, passed, failed = {}, 0, 0
    for values, direction, other, port, http, fqdn, want, why in CASES:
        if values not in rendered:
            rendered[values] = render(f"{values}-values.yaml")
        docs = rendered[values]
        casa = casa_pod(docs)
        k8s = [d for d in docs if d["kind"] == "NetworkPolicy"]
        cil = [d for d in docs if d["kind"] == "CiliumNetworkPolicy"]
        assert k8s or cil, f"{values}: no policy rendered"
        if cil:
            got = cilium_allows(cil, direction, casa, other, port, "TCP" if port != 53 else "UDP", http, fqdn)
        else:
            got = k8s_allows(k8s, direction, casa, other, port, "TCP" if port != 53 else "UDP")
        ok = got == want
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {values:18} {direction:7} {'allowed' if got else 'denied ':7} {why}")
    # The evaluator tells a widened policy apart: a MAS selector that picks
    # every namespace lets the stranger in (else this test could not fail).
    for flavour, extra in (("kubernetes", []), ("cilium", ["--set", "networkPolicy.flavor=cilium"])):
        docs = render("embedded-values.yaml", "--set-json", "networkPolicy.masNamespaceSelector.matchLabels=null", *extra)
        pols = [d for d in docs if d["kind"] in ("NetworkPolicy", "CiliumNetworkPolicy")]
        check = cilium_allows if flavour == "cilium" else k8s_allows
        args = (("POST", "/oauth/token"),) if flavour == "cilium" else ()
        ok = check(pols, I, casa_pod(docs), STRANGER, 8080, "TCP", *args)
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} mutation ({flavour}): an empty MAS selector lets every namespace in")
    print(f"netpol: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
