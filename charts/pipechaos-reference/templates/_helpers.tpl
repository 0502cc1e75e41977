{{/* Labels every object of the chart carries (pods get theirs from the layout). */}}
{{- define "ref.labels" -}}
app.kubernetes.io/part-of: pipechaos-reference
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "ref.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The restricted pod-security profile: pod level. */}}
{{- define "ref.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The restricted pod-security profile: container level. */}}
{{- define "ref.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod placement and pull secrets shared by every pod. */}}
{{- define "ref.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- include "ref.podSecurityContext" . | nindent 2 }}
{{- end }}

{{/*
One reference component (docs/platforms.md): a Deployment or StatefulSet whose container
runs `python -m MODULE` under `tini -g` (pod.pause stops tini's child, the program), with
PIPECHAOS_POD and the downward-API variables. Arguments (a dict): root, kind, name, tier,
replicas, module, ports (name -> number), pod (the PIPECHAOS_POD object), ready (probe),
mounts, volumes, claim (StatefulSet: a PVC template for the data directory).
*/}}
{{- define "ref.workload" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  labels:
    {{- include "ref.labels" $root | nindent 4 }}
    app: {{ .name }}
    tier: {{ .tier }}
spec:
  replicas: {{ .replicas }}
  {{- if eq .kind "StatefulSet" }}
  serviceName: {{ .name }}
  podManagementPolicy: Parallel
  {{- end }}
  selector:
    matchLabels:
      app: {{ .name }}
      tier: {{ .tier }}
  template:
    metadata:
      labels:
        app: {{ .name }}
        tier: {{ .tier }}
        app.kubernetes.io/part-of: pipechaos-reference
    spec:
      {{- include "ref.podCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: 10
      containers:
        - name: {{ .name }}
          image: {{ include "ref.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["tini", "-g", "--", "python", "-m", {{ .module | quote }}]
          ports:
            {{- range $name, $port := .ports }}
            - name: {{ $name }}
              containerPort: {{ $port }}
            {{- end }}
          env:
            - name: PIPECHAOS_POD
              value: {{ .pod | toJson | quote }}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: POD_UID
              valueFrom: {fieldRef: {fieldPath: metadata.uid}}
            - name: POD_NAMESPACE
              valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
            {{- if eq .kind "StatefulSet" }}
            - name: POD_INDEX
              valueFrom: {fieldRef: {fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']"}}
            {{- end }}
          readinessProbe:
            {{- toYaml .ready | nindent 12 }}
            periodSeconds: 2
          securityContext: {{- include "ref.containerSecurityContext" $root | nindent 12 }}
          {{- with $root.Values.resources }}
          resources: {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            - {name: data, mountPath: {{ .pod.data_dir }}}
            - {name: tmp, mountPath: /tmp}
            {{- with .mounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - {name: tmp, emptyDir: {}}
        {{- if not .claim }}
        - {name: data, emptyDir: {}}
        {{- end }}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  {{- with .claim }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        {{- with .storageClassName }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ .storage }}
  {{- end }}
{{- end }}

{{/* The PIPECHAOS_POD object of a component (docs/contracts.md), in-cluster. */}}
{{- define "ref.pod" -}}
{{- $pod := dict "name" .name "component" .name "index" 0 "ports" .ports "settings" .settings "data_dir" (.dataDir | default "/var/lib/pipechaos") "host" "0.0.0.0" "labels" (dict "app" .name "tier" .tier) -}}
{{- with .root.Values.bug }}{{ $_ := set $pod "bug" . }}{{ end -}}
{{- with .extra }}{{ $pod = merge $pod . }}{{ end -}}
{{- toJson $pod -}}
{{- end }}

{{/* The preloaded proxies (docs/platforms.md "Proxies"): name, listen port, upstream, port name. */}}
{{- define "ref.proxies" -}}
- {name: producer-broker, port: 16379, upstream: "redis:6379", portName: producer-broker}
- {name: consumer-0-broker, port: 16380, upstream: "redis:6379", portName: consumer-0}
- {name: consumer-1-broker, port: 16381, upstream: "redis:6379", portName: consumer-1}
- {name: consumer-2-broker, port: 16382, upstream: "redis:6379", portName: consumer-2}
- {name: consumer-inventory, port: 18080, upstream: "inventory:8080", portName: inventory}
- {name: consumer-payment, port: 18443, upstream: "payment:8443", portName: payment}
- {name: consumer-points, port: 18081, upstream: "points:8080", portName: points}
{{- end }}
