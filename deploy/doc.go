// Package deploy holds the tests of the container images (../Dockerfile) and
// the Kubernetes manifests (k8s/): every kustomize overlay renders, every
// object decodes strictly into its Kubernetes type, and the manifests agree
// with the code (flags, ports, images, secrets, network policies).
package deploy
