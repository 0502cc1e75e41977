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
experiments need: every run lists and watches pods, reads Services and pod logs; pod.kill
deletes pods; pod.pause (and a TLS reload by signal) execs into them; certificate faults
read the deployment CA and swap the Secret (via: rotate, the only way on Kubernetes: the
backup created, the Secret patched, the backup deleted; create cannot be limited by name)
and reload the pods (exec, or a rollout restart: patch of the workload).
Output: YAML, resource -> sorted verbs.
*/}}
{{- define "pipechaos.needs" -}}
{{- $need := dict "pods" (dict "list" true "watch" true) "services" (dict "get" true) "pods/log" (dict "get" true) -}}
{{- $certTypes := list "tls.expired-cert" "tls.not-yet-valid" "tls.untrusted-ca" "tls.hostname-mismatch" -}}
{{- if .Values.rbac.portForward }}{{ $_ := set $need "pods/portforward" (dict "get" true "create" true) }}{{ end -}}
{{- range .Values.schedules -}}
{{- $exp := include "pipechaos.experimentText" (dict "root" $ "name" .experiment) | fromYaml -}}
{{- $target := include "pipechaos.targetText" (dict "root" $ "name" .target) | fromYaml -}}
{{- range $exp.faults -}}
{{- if eq .type "pod.kill" -}}
{{- $_ := set $need.pods "delete" true -}}
{{- else if eq .type "pod.pause" -}}
{{- $_ := set $need.pods "get" true -}}
{{- $_ := set $need "pods/exec" (dict "get" true "create" true) -}}
{{- else if has .type $certTypes -}}
{{- if eq (.via | default "rotate") "rotate" -}}
{{- $_ := set $need "secrets" (dict "get" true "create" true "patch" true "delete" true) -}}
{{- $service := .service -}}
{{- range $target.components -}}
{{- if and (eq .name $service) .tls -}}
{{- if eq (.tls.reload | default "restart") "signal" -}}
{{- $_ := set $need "pods/exec" (dict "get" true "create" true) -}}
{{- else -}}
{{- $kind := (splitList "/" (.workload | default "Deployment/x")) | first | lower -}}
{{- $_ := set $need (printf "%ss" $kind) (dict "patch" true) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $out := dict -}}
{{- range $resource, $verbs := $need -}}
{{- $_ := set $out $resource (keys $verbs | sortAlpha) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end }}
