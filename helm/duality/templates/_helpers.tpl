{{/* Names, labels and the checks every template relies on. */}}

{{- define "duality.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's name, with the chart's unless it holds it already; 52 characters leave room for "-headless" and a pod ordinal. */}}
{{- define "duality.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "duality.headless" -}}
{{ include "duality.fullname" . }}-headless
{{- end }}

{{- define "duality.selectorLabels" -}}
app.kubernetes.io/name: {{ include "duality.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "duality.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "duality.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "duality.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "duality.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "duality.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* The ConfigMap holding the topology, and its key. */}}
{{- define "duality.topologyConfigMap" -}}
{{- default (printf "%s-topology" (include "duality.fullname" .)) .Values.existingConfigMap }}
{{- end }}
{{- define "duality.topologyKey" -}}
{{- if .Values.existingConfigMap }}{{ .Values.existingConfigMapKey }}{{ else }}topology.yaml{{ end }}
{{- end }}

{{/* The Secret the chart makes for the values given as text (API token, SASL password). */}}
{{- define "duality.secretName" -}}
{{ include "duality.fullname" . }}
{{- end }}
{{- define "duality.apiTokenSecret" -}}
{{- default (include "duality.secretName" .) .Values.apiToken.existingSecret }}
{{- end }}
{{- define "duality.saslSecret" -}}
{{- default (include "duality.secretName" .) .Values.kafka.sasl.existingSecret }}
{{- end }}
{{- define "duality.apiTokenEnabled" -}}
{{- if or .Values.apiToken.value .Values.apiToken.existingSecret }}true{{ end }}
{{- end }}

{{/*
What cannot be said in values.schema.json, with messages that say what to do. Included by the
StatefulSet, so every render runs it.
*/}}
{{- define "duality.checks" -}}
{{- if and .Values.topology .Values.existingConfigMap }}
{{- fail "duality: give the topology either inline (--set-file topology=topology.yaml) or as existingConfigMap, not both" }}
{{- end }}
{{- if not (or .Values.topology .Values.existingConfigMap) }}
{{- fail "duality: no topology: give it with --set-file topology=topology.yaml, or name a ConfigMap that holds it with --set existingConfigMap=NAME" }}
{{- end }}
{{- if and .Values.topology (not .Values.kafka.brokers) }}
{{- $doc := fromYaml .Values.topology }}
{{- if hasKey $doc "Error" }}
{{- fail (printf "duality: the topology value is not YAML: %s" (get $doc "Error")) }}
{{- end }}
{{- if not (and (kindIs "map" (get $doc "kafka")) (get (get $doc "kafka") "brokers")) }}
{{- fail "duality: no Kafka brokers: set kafka.brokers (host:port[,host:port...]) or kafka.brokers in the topology; pods of a StatefulSet cannot share the embedded log" }}
{{- end }}
{{- end }}
{{- $sasl := .Values.kafka.sasl }}
{{- if and (has $sasl.mechanism (list "plain" "scram-sha-256" "scram-sha-512")) (not $sasl.username) }}
{{- fail (printf "duality: kafka.sasl.mechanism %s needs kafka.sasl.username" $sasl.mechanism) }}
{{- end }}
{{- if and (has $sasl.mechanism (list "plain" "scram-sha-256" "scram-sha-512")) (not (or $sasl.password $sasl.existingSecret)) }}
{{- fail (printf "duality: kafka.sasl.mechanism %s needs a password: kafka.sasl.existingSecret (a Secret with key %s) or kafka.sasl.password" $sasl.mechanism $sasl.passwordKey) }}
{{- end }}
{{- if and (eq $sasl.mechanism "oauthbearer") (not $sasl.existingSecret) }}
{{- fail (printf "duality: kafka.sasl.mechanism oauthbearer needs kafka.sasl.existingSecret, a Secret whose key %s holds the token" $sasl.tokenKey) }}
{{- end }}
{{- if and (or .Values.kafka.tls.certKey .Values.kafka.tls.keyKey) (not .Values.kafka.tls.existingSecret) }}
{{- fail "duality: kafka.tls.certKey and keyKey name keys of kafka.tls.existingSecret, which is not set" }}
{{- end }}
{{- if and .Values.kafka.tls.existingSecret (not .Values.kafka.tls.enabled) }}
{{- fail "duality: kafka.tls.existingSecret is set but kafka.tls.enabled is false" }}
{{- end }}
{{- if ne (empty .Values.kafka.tls.certKey) (empty .Values.kafka.tls.keyKey) }}
{{- fail "duality: mutual TLS needs both kafka.tls.certKey and kafka.tls.keyKey" }}
{{- end }}
{{- end }}

{{/* The environment of the validate and run containers (docs/kafka.md, docs/cli.md). */}}
{{- define "duality.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
# Other instances forward queries for keys this pod owns to its stable DNS name.
- name: DUALITY_ADVERTISE
  value: "$(POD_NAME).{{ include "duality.headless" . }}.$(POD_NAMESPACE).svc.{{ .Values.clusterDomain }}:{{ .Values.containerPort }}"
{{- with .Values.kafka.brokers }}
- name: KAFKA_BROKERS
  value: {{ . | quote }}
{{- end }}
{{- if .Values.kafka.tls.enabled }}
- name: KAFKA_TLS
  value: "true"
{{- end }}
{{- if .Values.kafka.tls.existingSecret }}
{{- with .Values.kafka.tls.caKey }}
- name: KAFKA_TLS_CA
  value: /etc/duality/kafka-tls/{{ . }}
{{- end }}
{{- if .Values.kafka.tls.certKey }}
- name: KAFKA_TLS_CERT
  value: /etc/duality/kafka-tls/{{ .Values.kafka.tls.certKey }}
- name: KAFKA_TLS_KEY
  value: /etc/duality/kafka-tls/{{ .Values.kafka.tls.keyKey }}
{{- end }}
{{- end }}
{{- with .Values.kafka.sasl.mechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ . }}
{{- end }}
{{- if eq .Values.kafka.sasl.mechanism "oauthbearer" }}
- name: KAFKA_SASL_TOKEN_FILE
  value: /etc/duality/kafka-sasl/token
{{- else if .Values.kafka.sasl.mechanism }}
- name: KAFKA_SASL_USERNAME
  value: {{ .Values.kafka.sasl.username | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "duality.saslSecret" . }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- if include "duality.apiTokenEnabled" . }}
- name: DUALITY_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "duality.apiTokenSecret" . }}
      key: {{ .Values.apiToken.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
