// Renders a Kustomize overlay offline and validates every object against the Kubernetes JSON
// schemas bundled in the pinned npm package kubernetes-models (tools/node), then checks what
// Rampart's manifests promise (probes, resources, PDBs, HPAs, the privileged agent DaemonSet).
//   node k8s_check.mjs KUSTOMIZATION_DIR [SECRETS.yaml ...]   (prints the rendered YAML to
//   $K8S_RENDER_OUT when set)
// The renderer covers the Kustomize subset these manifests use (resources, namespace, labels,
// images, patches as strategic merges) and refuses any other field, so a manifest that needs
// more fails here instead of being half-rendered.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const toolsDir = process.env.RAMPART_TOOLS_NODE;
const resolveTool = (name) => require.resolve(name, { paths: [toolsDir] });
const YAML = require(resolveTool('yaml'));
const modelsRoot = path.dirname(resolveTool('kubernetes-models/package.json'));

let passed = 0;
let failed = 0;
const ok = () => passed++;
const bad = (msg) => {
  failed++;
  console.error(`k8s_check: FAIL: ${msg}`);
};

const ALLOWED = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass']);

function readDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      return d.toJS();
    })
    .filter((o) => o);
}

const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
// Strategic merge, as Kustomize does it for these kinds: maps merge, lists of named maps merge
// by name, other lists are replaced.
function merge(into, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (isObj(v) && isObj(into[k])) merge(into[k], v);
    else if (Array.isArray(v) && Array.isArray(into[k]) && v.every((e) => isObj(e) && e.name)) {
      for (const e of v) {
        const t = into[k].find((x) => x.name === e.name);
        if (t) merge(t, e);
        else into[k].push(e);
      }
    } else into[k] = structuredClone(v);
  }
}

function containersOf(o) {
  const spec = o.spec?.template?.spec;
  return spec ? [...(spec.initContainers || []), ...(spec.containers || [])] : [];
}

function render(dir) {
  const file = ['kustomization.yaml', 'kustomization.yml']
    .map((f) => path.join(dir, f))
    .find((f) => fs.existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const k = readDocs(file)[0];
  for (const key of Object.keys(k))
    if (!ALLOWED.has(key)) throw new Error(`${file}: field '${key}' is not supported by this check`);
  let objs = [];
  for (const r of k.resources || []) {
    const p = path.join(dir, r);
    objs = objs.concat(fs.statSync(p).isDirectory() ? render(p) : readDocs(p));
  }
  for (const pt of k.patches || []) {
    for (const patch of readDocs(path.join(dir, pt.path))) {
      const t = objs.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (!t) throw new Error(`${file}: patch ${pt.path} targets ${patch.kind}/${patch.metadata.name}, which no resource is`);
      merge(t, patch);
    }
  }
  for (const img of k.images || []) {
    for (const o of objs)
      for (const c of containersOf(o)) {
        const [name, tag] = c.image.split(':');
        if (name !== img.name) continue;
        c.image = `${img.newName || name}:${img.newTag || tag || 'latest'}`;
      }
  }
  for (const o of objs) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels || []) o.metadata.labels = { ...(o.metadata.labels || {}), ...l.pairs };
  }
  return objs;
}

async function validate(o) {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : [null, o.apiVersion];
  const modDir = path.join(modelsRoot, group ? `${group}/${version}` : version, 'index.js');
  if (!fs.existsSync(modDir)) return bad(`${o.kind}/${o.metadata?.name}: unknown apiVersion ${o.apiVersion}`);
  const mod = await import(modDir);
  const Model = mod[o.kind];
  if (!Model) return bad(`${o.kind}/${o.metadata?.name}: unknown kind in ${o.apiVersion}`);
  try {
    new Model(o).validate();
    ok();
  } catch (e) {
    bad(`${o.kind}/${o.metadata?.name}: ${e.message}`);
  }
}

const [dir, ...secretFiles] = process.argv.slice(2);
let objs;
try {
  objs = render(dir);
} catch (e) {
  bad(e.message);
  console.log(`k8s_check: ${passed} passed, ${failed} failed`);
  process.exit(1);
}
const secrets = secretFiles.flatMap(readDocs);
for (const o of [...objs, ...secrets]) await validate(o);
if (process.env.K8S_RENDER_OUT)
  fs.writeFileSync(process.env.K8S_RENDER_OUT, objs.map((o) => YAML.stringify(o)).join('---\n'));

const byKind = (kind) => objs.filter((o) => o.kind === kind);
const check = (cond, msg) => (cond ? ok() : bad(msg));
const deployments = byKind('Deployment');
const names = deployments.map((d) => d.metadata.name).sort();
check(
  JSON.stringify(names) ===
    JSON.stringify(['rampart-agent-center', 'rampart-hub', 'rampart-manager', 'rampart-sd']),
  `Deployments are ${names.join(', ')}`,
);
for (const d of deployments) {
  const n = d.metadata.name;
  for (const c of d.spec.template.spec.containers) {
    for (const p of ['readinessProbe', 'livenessProbe'])
      check(c[p]?.httpGet?.path === '/health', `${n}/${c.name}: no ${p} on /health`);
  }
  for (const c of containersOf(d))
    check(
      c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.cpu && c.resources?.limits?.memory,
      `${n}/${c.name}: resource requests and limits`,
    );
  check(d.spec.template.spec.securityContext?.runAsNonRoot === true, `${n}: not runAsNonRoot`);
  const sel = d.spec.selector.matchLabels;
  check(
    byKind('PodDisruptionBudget').some((p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(sel)),
    `${n}: no PodDisruptionBudget selects it`,
  );
  const hpa = byKind('HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === n);
  check(hpa && hpa.spec.scaleTargetRef.kind === 'Deployment' && hpa.spec.minReplicas <= hpa.spec.maxReplicas, `${n}: no valid HPA`);
  // Every env value taken from a ConfigMap or Secret names one that exists.
  for (const c of containersOf(d))
    for (const e of c.env || []) {
      const cm = e.valueFrom?.configMapKeyRef;
      if (cm) check(byKind('ConfigMap').some((m) => m.metadata.name === cm.name && cm.key in m.data), `${n}: env ${e.name} refers to a missing ConfigMap key ${cm.name}/${cm.key}`);
      const sk = e.valueFrom?.secretKeyRef;
      if (sk && secrets.length)
        check(secrets.some((s) => s.metadata.name === sk.name && sk.key in s.data), `${n}: env ${e.name} refers to a missing Secret key ${sk.name}/${sk.key}`);
    }
}
const secretNamesUsed = objs.flatMap((o) =>
  (o.spec?.template?.spec?.volumes || []).flatMap((v) => [
    v.secret?.secretName,
    ...(v.projected?.sources || []).map((s) => s.secret?.name),
  ]),
).filter(Boolean);
if (secrets.length)
  for (const s of new Set(secretNamesUsed))
    check(secrets.some((x) => x.metadata.name === s), `Secret ${s} is used but make-secrets.sh does not make it`);
const [ds] = byKind('DaemonSet');
check(ds?.metadata.name === 'rampart-agent', 'no rampart-agent DaemonSet');
if (ds) {
  const spec = ds.spec.template.spec;
  check(spec.hostPID === true, 'agent: hostPID');
  check(spec.tolerations?.some((t) => t.operator === 'Exists'), 'agent: tolerates all taints');
  const agent = spec.containers.find((c) => c.name === 'agent');
  check(agent?.securityContext?.privileged === true, 'agent: privileged');
  const btf = spec.volumes.find((v) => v.hostPath?.path === '/sys/kernel/btf');
  check(btf && agent.volumeMounts.some((m) => m.name === btf.name && m.mountPath === '/sys/kernel/btf'), 'agent: BTF mount');
  for (const c of containersOf(ds)) check(c.resources?.limits?.memory, `agent/${c.name}: resource limits`);
}
for (const o of objs)
  if (!CLUSTER_SCOPED.has(o.kind)) check(o.metadata.namespace, `${o.kind}/${o.metadata.name}: no namespace`);

console.log(`k8s_check: ${objs.length} objects rendered, ${secrets.length} secrets`);
console.log(`k8s_check: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
