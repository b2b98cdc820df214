"""The project's Kubernetes API: CRD types, annotation and label keys, resource names."""
