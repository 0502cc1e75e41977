{{- define "pipechaos.labels" -}}
app.kubernetes.io/name: pipechaos
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The runner's pods: the pipechaos-reference chart's NetworkPolicy admits these to the proxy API. */}}
{{- define "pipechaos.podLabels" -}}
app.kubernetes.io/name: pipechaos
app.kubernetes.io/component: runner
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pipechaos.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "pipechaos.namespace" -}}
{{ .Values.targetNamespace | default .Release.Namespace }}
{{- end }}

{{- define "pipechaos.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "pipechaos.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The text of experiment file .name: the user's own (values.experiments) or the library's. */}}
{{- define "pipechaos.experimentText" -}}
{{- $own := index .root.Values.experiments .name -}}
{{- if $own }}{{ $own }}{{ else }}{{ .root.Files.Get (printf "files/experiments/%s" .name) }}{{ end -}}
{{- end }}

{{/* The text of target file .name: the user's own (values.targets) or the library's, whose
namespace becomes the release's (or targetNamespace). */}}
{{- define "pipechaos.targetText" -}}
{{- $own := index .root.Values.targets .name -}}
{{- if $own }}{{ $own }}{{ else -}}
{{- $text := .root.Files.Get (printf "files/targets/%s" .name) -}}
{{- regexReplaceAll "(?m)^(\\s+namespace:\\s*)[a-z0-9-]+" $text (printf "${1}%s" (include "pipechaos.namespace" .root)) -}}
{{- end -}}
{{- end }}

{{/*
The Role's rules (docs/platforms.md "API calls and RBAC"), only what the scheduled
experiments need. Every run lists pods, reads Services and pod logs, and gets the workloads
its target names (by name). pod.kill deletes pods and watches for the replacement; pod.crash
gets the pod (its admin address) and watches; pod.pause gets the pod and execs into it.
Certificate faults read the deployment CA and swap the Secret (via: rotate, the only way on
Kubernetes: a backup created, the Secret patched, the backup deleted; create cannot be
limited by name), then reload the pods: exec (signal) or patch of the workload (restart).
Output: YAML list of rules (resource -> sorted verbs; apps workloads with resourceNames).
*/}}
{{- define "pipechaos.rules" -}}
{{- $need := dict "pods" (dict "list" true) "services" (dict "get" true) "pods/log" (dict "get" true) -}}
{{- $named := dict -}}
{{- $certTypes := list "tls.expired-cert" "tls.not-yet-valid" "tls.untrusted-ca" "tls.hostname-mismatch" -}}
{{- if .Values.rbac.portForward }}{{ $_ := set $need "pods/portforward" (dict "get" true "create" true) }}{{ end -}}
{{- range .Values.schedules -}}
{{- $exp := include "pipechaos.experimentText" (dict "root" $ "name" .experiment) | fromYaml -}}
{{- $target := include "pipechaos.targetText" (dict "root" $ "name" .target) | fromYaml -}}
{{- range $target.components -}}
{{- with .workload -}}
{{- $parts := splitList "/" . -}}
{{- $key := printf "%ss|get" (first $parts | lower) -}}
{{- $_ := set $named $key (append (get $named $key | default list) (last $parts) | uniq | sortAlpha) -}}
{{- end -}}
{{- end -}}
{{- range $exp.faults -}}
{{- if eq .type "pod.kill" -}}
{{- $_ := set $need.pods "delete" true -}}
{{- $_ := set $need.pods "watch" true -}}
{{- else if eq .type "pod.crash" -}}
{{- $_ := set $need.pods "get" true -}}
{{- $_ := set $need.pods "watch" true -}}
{{- else if eq .type "pod.pause" -}}
{{- $_ := set $need.pods "get" true -}}
{{- $_ := set $need "pods/exec" (dict "get" true "create" true) -}}
{{- else if has .type $certTypes -}}
{{- $_ := set $need "secrets" (dict "get" true "create" true "patch" true "delete" true) -}}
{{- $service := .service -}}
{{- range $target.components -}}
{{- if and (eq .name $service) .tls -}}
{{- if eq (.tls.reload | default "restart") "signal" -}}
{{- $_ := set $need "pods/exec" (dict "get" true "create" true) -}}
{{- else -}}
{{- $parts := splitList "/" (.workload | default (printf "Deployment/%s" .name)) -}}
{{- $key := printf "%ss|patch" (first $parts | lower) -}}
{{- $_ := set $named $key (append (get $named $key | default list) (last $parts) | uniq | sortAlpha) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $rules := list -}}
{{- range $resource, $verbs := $need -}}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list $resource) "verbs" (keys $verbs | sortAlpha)) -}}
{{- end -}}
{{- range $key, $names := $named -}}
{{- $parts := splitList "|" $key -}}
{{- $rules = append $rules (dict "apiGroups" (list "apps") "resources" (list (first $parts)) "resourceNames" $names "verbs" (list (last $parts))) -}}
{{- end -}}
{{- toYaml $rules -}}
{{- end }}
