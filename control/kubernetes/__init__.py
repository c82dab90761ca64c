"""The Kubernetes manifests' generated part (``deploy/kubernetes/base``): a Deployment,
PodDisruptionBudget and (for a Kafka consumer) KEDA ScaledObject per service of the
topology, the setup Jobs, a PodMonitor and the alert rules as a PrometheusRule."""
