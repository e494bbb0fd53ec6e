#!/bin/sh
# Registers the namespace Slipway uses once the server answers (auto-setup used to do this).
set -eu
namespace=${DEFAULT_NAMESPACE:-default}
for attempt in $(seq 1 30); do
  if temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then break; fi
  echo "waiting for Temporal at $TEMPORAL_ADDRESS ($attempt/30)"
  sleep 5
done
temporal operator namespace describe -n "$namespace" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$namespace" --retention 30d --address "$TEMPORAL_ADDRESS"
echo "namespace $namespace ready"
