{{/* Names. */}}
{{- define "casa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "casa.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The headless Service: seeds' DNS name and the pods' stable names. */}}
{{- define "casa.peersName" -}}{{ include "casa.fullname" . | trunc 57 | trimSuffix "-" }}-peers{{- end -}}
{{- define "casa.peersHost" -}}{{ include "casa.peersName" . }}.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}{{- end -}}

{{- define "casa.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "casa.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: casa
{{- end -}}

{{- define "casa.collectorLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "casa.collectorSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: casa
{{- end -}}

{{/* Immutable: StatefulSet selectors and NetworkPolicy peers use these. */}}
{{- define "casa.selectorLabels" -}}
app.kubernetes.io/name: {{ include "casa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "casa.collectorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "casa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: collector
{{- end -}}

{{- define "casa.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "casa.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository@digest, or repository:tag (default: appVersion). */}}
{{- define "casa.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "casa.clustered" -}}{{ if eq .Values.store "scylla" }}true{{ end }}{{- end -}}

{{/* A majority of the replicas, or the value given (validated). */}}
{{- define "casa.minMembers" -}}
{{- $majority := add1 (div (int .Values.replicas) 2) -}}
{{- if gt (int .Values.cluster.minMembers) 0 -}}{{ .Values.cluster.minMembers }}{{- else -}}{{ $majority }}{{- end -}}
{{- end -}}

{{- define "casa.adminSecretName" -}}
{{- default (printf "%s-admin-token" (include "casa.fullname" .)) .Values.adminToken.existingSecret -}}
{{- end -}}

{{- define "casa.tlsSecretName" -}}
{{- default (printf "%s-cluster-tls" (include "casa.fullname" .)) .Values.cluster.tls.existingSecret -}}
{{- end -}}

{{- define "casa.collectorNamespace" -}}{{ default .Release.Namespace .Values.collector.namespace }}{{- end -}}

{{- define "casa.reportTo" -}}
{{- default (printf "http://%s.%s.svc.%s:%v" (include "casa.fullname" .) .Release.Namespace .Values.clusterDomain .Values.service.port) .Values.collector.reportTo -}}
{{- end -}}

{{/*
Every combination the schema cannot express fails here, with what to do.
Included by every template, so `helm template -s` of any one fails too.
*/}}
{{- define "casa.validate" -}}
{{- $v := .Values -}}
{{- if eq $v.store "embedded" -}}
  {{- if gt (int $v.replicas) 1 -}}
    {{- fail (printf "store=embedded keeps its state in one pod's volume: replicas must be 1 (got %v); use store=scylla for a cluster" $v.replicas) -}}
  {{- end -}}
  {{- if or $v.cluster.tls.certManager.enabled $v.cluster.tls.existingSecret -}}
    {{- fail "cluster.tls is for node-to-node traffic of store=scylla; an embedded node has no peers" -}}
  {{- end -}}
{{- else -}}
  {{- if not $v.publicUrl -}}
    {{- fail "store=scylla needs publicUrl: every node issues tokens under the same issuer, the URL clients reach the cluster at" -}}
  {{- end -}}
  {{- if not $v.scylla.nodes -}}
    {{- fail "store=scylla needs scylla.nodes: the CQL contact points, host:port" -}}
  {{- end -}}
  {{- if and $v.cluster.tls.certManager.enabled $v.cluster.tls.existingSecret -}}
    {{- fail "cluster.tls: set either certManager.enabled or existingSecret, not both" -}}
  {{- end -}}
  {{- if not (or $v.cluster.tls.certManager.enabled $v.cluster.tls.existingSecret) -}}
    {{- fail "store=scylla needs node-to-node mutual TLS: set cluster.tls.certManager.enabled (with an issuerRef) or cluster.tls.existingSecret" -}}
  {{- end -}}
  {{- if not $v.keyEncryptionKey.existingSecret -}}
    {{- fail "store=scylla needs keyEncryptionKey.existingSecret: every node must seal realm keys with the same key-encryption key and casa cannot make one for a cluster (without it they are stored in clear); make the Secret once, e.g. kubectl create secret generic casa-key-encryption-key --from-literal=kek=$(openssl rand -hex 32), and keep a copy apart from the store" -}}
  {{- end -}}
  {{- if and $v.cluster.tls.certManager.enabled (not $v.cluster.tls.certManager.issuerRef.name) -}}
    {{- fail "cluster.tls.certManager.enabled needs cluster.tls.certManager.issuerRef.name" -}}
  {{- end -}}
  {{- $majority := add1 (div (int $v.replicas) 2) -}}
  {{- if and (gt (int $v.cluster.minMembers) 0) (or (lt (int $v.cluster.minMembers) $majority) (gt (int $v.cluster.minMembers) (int $v.replicas))) -}}
    {{- fail (printf "cluster.minMembers=%v is not a majority of %v replicas: use %v to %v, or 0 for %v" $v.cluster.minMembers $v.replicas $majority $v.replicas $majority) -}}
  {{- end -}}
{{- end -}}
{{- if and (eq $v.config.embedder "openai") (not (and $v.config.embeddings.baseUrl $v.config.embeddings.model)) -}}
  {{- fail "config.embedder=openai needs config.embeddings.baseUrl and config.embeddings.model" -}}
{{- end -}}
{{- if ne (empty $v.config.llm.baseUrl) (empty $v.config.llm.model) -}}
  {{- fail "config.llm.baseUrl and config.llm.model go together" -}}
{{- end -}}
{{- $np := $v.networkPolicy -}}
{{- if and $np.enabled (eq $v.store "scylla") (not (or $np.storeEgress.namespaceSelector $np.storeEgress.podSelector $np.storeEgress.cidrs)) -}}
  {{- fail "networkPolicy denies all egress but what it lists: store=scylla needs networkPolicy.storeEgress (namespaceSelector/podSelector or cidrs of the CQL nodes)" -}}
{{- end -}}
{{- if and $np.enabled (or $v.config.llm.baseUrl (eq $v.config.embedder "openai")) (not (or $np.llmEgress.cidrs $np.llmEgress.fqdns)) -}}
  {{- fail "networkPolicy denies all egress but what it lists: an LLM or embeddings endpoint needs networkPolicy.llmEgress (cidrs, or fqdns with flavor=cilium)" -}}
{{- end -}}
{{- if $v.collector.enabled -}}
  {{- $credential := false -}}
  {{- range $v.collector.env -}}
    {{- if eq (get . "name") "CASA_COLLECTOR_TOKEN" -}}{{- $credential = true -}}{{- end -}}
    {{- if eq (get . "name") "CASA_ADMIN_TOKEN" -}}
      {{- fail "collector.env must not carry CASA_ADMIN_TOKEN: the DaemonSet runs on every node; give it the collector token (CASA_COLLECTOR_TOKEN), which reads keys and posts findings only" -}}
    {{- end -}}
  {{- end -}}
  {{- if not $credential -}}
    {{- fail "collector.enabled needs its credential: a collector.env entry CASA_COLLECTOR_TOKEN by secretKeyRef (a Secret in the collector's namespace; casa collect reads keys and revocations and reports with it)" -}}
  {{- end -}}
  {{- if not $v.collectorToken.existingSecret -}}
    {{- fail "collector.enabled needs collectorToken.existingSecret: the Secret (release namespace) that gives casa the collector token the DaemonSet reports with" -}}
  {{- end -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (eq $v.networkPolicy.flavor "kubernetes") $v.networkPolicy.llmEgress.fqdns -}}
  {{- fail "networkPolicy.llmEgress.fqdns needs networkPolicy.flavor=cilium (a NetworkPolicy knows no names): give llmEgress.cidrs instead" -}}
{{- end -}}
{{- end -}}

{{/*
A Cilium endpoint selector for the pods (.pods) in the namespaces (.ns) two
Kubernetes LabelSelectors pick: namespace labels become
io.cilium.k8s.namespace.labels.*, an empty namespace selector means all.
*/}}
{{- define "casa.ciliumSelector" -}}
{{- $labels := dict -}}
{{- $exprs := list -}}
{{- $ns := .ns | default dict -}}
{{- $pods := .pods | default dict -}}
{{- range $k, $v := ($ns.matchLabels | default dict) -}}
{{- if eq $k "kubernetes.io/metadata.name" -}}
{{- $_ := set $labels "k8s:io.kubernetes.pod.namespace" $v -}}
{{- else -}}
{{- $_ := set $labels (printf "k8s:io.cilium.k8s.namespace.labels.%s" $k) $v -}}
{{- end -}}
{{- end -}}
{{- range ($ns.matchExpressions | default list) -}}
{{- $e := dict "key" (printf "k8s:io.cilium.k8s.namespace.labels.%s" .key) "operator" .operator -}}
{{- if .values }}{{ $_ := set $e "values" .values }}{{ end -}}
{{- $exprs = append $exprs $e -}}
{{- end -}}
{{- /* Any namespace the labels pick: a selector naming no namespace would be
       confined to the policy's own by Cilium releases that predate namespace
       label selectors; "namespace exists" lifts that in every release. */ -}}
{{- if not (hasKey $labels "k8s:io.kubernetes.pod.namespace") -}}
{{- $exprs = append $exprs (dict "key" "k8s:io.kubernetes.pod.namespace" "operator" "Exists") -}}
{{- end -}}
{{- range $k, $v := ($pods.matchLabels | default dict) -}}
{{- $_ := set $labels (printf "k8s:%s" $k) $v -}}
{{- end -}}
{{- range ($pods.matchExpressions | default list) -}}
{{- $e := dict "key" (printf "k8s:%s" .key) "operator" .operator -}}
{{- if .values }}{{ $_ := set $e "values" .values }}{{ end -}}
{{- $exprs = append $exprs $e -}}
{{- end -}}
{{- $out := dict -}}
{{- if $labels }}{{ $_ := set $out "matchLabels" $labels }}{{ end -}}
{{- if $exprs }}{{ $_ := set $out "matchExpressions" $exprs }}{{ end -}}
{{- toYaml $out -}}
{{- end -}}
