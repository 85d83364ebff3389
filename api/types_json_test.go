package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kindJSONCases are documents in the shape the Kubernetes API serves them
// (minus fields that are null or empty there, which Drover leaves out). Each
// must decode into its Go type with no unknown field and encode back to the
// same JSON value: a wrong tag name fails the decode, and a field that is
// decoded but not encoded fails the comparison.
var kindJSONCases = []struct {
	name string
	new  func() any
	doc  string
}{
	{"Namespace", func() any { return new(Namespace) }, `{
		"apiVersion": "v1",
		"kind": "Namespace",
		"metadata": {
			"name": "team-a",
			"uid": "6f1b2c58-1c2d-4b7e-9d55-0d7c1c9e4a10",
			"resourceVersion": "1201",
			"creationTimestamp": "2026-01-02T15:04:05Z",
			"deletionTimestamp": "2026-01-03T09:00:00Z",
			"labels": {"kubernetes.io/metadata.name": "team-a"}
		},
		"spec": {"finalizers": ["kubernetes"]},
		"status": {
			"phase": "Terminating",
			"conditions": [{
				"type": "NamespaceContentRemaining",
				"status": "True",
				"lastTransitionTime": "2026-01-03T09:00:02Z",
				"reason": "SomeResourcesRemain",
				"message": "Some resources are remaining: pods. has 2 resource instances"
			}]
		}
	}`},
	{"Node", func() any { return new(Node) }, `{
		"apiVersion": "v1",
		"kind": "Node",
		"metadata": {
			"name": "node-1",
			"uid": "0b6f6c2e-7f57-4b8e-a0a5-3f0f1e2d3c4b",
			"resourceVersion": "98765",
			"creationTimestamp": "2026-01-02T15:04:05Z",
			"labels": {
				"kubernetes.io/arch": "amd64",
				"kubernetes.io/hostname": "node-1",
				"kubernetes.io/os": "linux",
				"topology.kubernetes.io/zone": "zone-a"
			},
			"annotations": {"node.alpha.kubernetes.io/ttl": "0"}
		},
		"spec": {
			"podCIDR": "10.244.1.0/24",
			"podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"],
			"providerID": "drover://node-1",
			"unschedulable": true,
			"taints": [
				{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": "2026-01-02T16:00:00Z"},
				{"key": "dedicated", "value": "gpu", "effect": "PreferNoSchedule"}
			]
		},
		"status": {
			"capacity": {"cpu": "4", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"},
			"allocatable": {"cpu": "3800m", "ephemeral-storage": "90Gi", "memory": "15Gi", "pods": "110"},
			"phase": "Running",
			"conditions": [
				{
					"type": "MemoryPressure",
					"status": "False",
					"lastHeartbeatTime": "2026-01-02T16:10:00Z",
					"lastTransitionTime": "2026-01-02T15:04:10Z",
					"reason": "KubeletHasSufficientMemory",
					"message": "kubelet has sufficient memory available"
				},
				{
					"type": "Ready",
					"status": "True",
					"lastHeartbeatTime": "2026-01-02T16:10:00Z",
					"lastTransitionTime": "2026-01-02T15:04:20Z",
					"reason": "KubeletReady",
					"message": "kubelet is posting ready status"
				}
			],
			"addresses": [
				{"type": "InternalIP", "address": "192.168.1.10"},
				{"type": "Hostname", "address": "node-1"}
			],
			"daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
			"nodeInfo": {
				"machineID": "9f1c3a0e5b6d4e7f8a9b0c1d2e3f4a5b",
				"systemUUID": "4c4c4544-0042-3510-8052-b4c04f4e3432",
				"bootID": "7e2c9d4a-3b1f-4f6e-9a8d-1c2b3a4d5e6f",
				"kernelVersion": "6.8.0-45-generic",
				"osImage": "Ubuntu 24.04.1 LTS",
				"containerRuntimeVersion": "drover://0.1.0",
				"kubeletVersion": "v1.31.0-drover",
				"kubeProxyVersion": "",
				"operatingSystem": "linux",
				"architecture": "amd64"
			},
			"images": [
				{"names": ["registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097", "registry.k8s.io/pause:3.10"], "sizeBytes": 320368},
				{"names": ["docker.io/library/nginx:1.27"], "sizeBytes": 72955450}
			]
		}
	}`},
	{"Pod", func() any { return new(Pod) }, podJSON},
	{"Service", func() any { return new(Service) }, `{
		"apiVersion": "v1",
		"kind": "Service",
		"metadata": {
			"name": "web",
			"namespace": "default",
			"uid": "3b0c7d6e-2a4f-4e1b-9c8d-7f6e5d4c3b2a",
			"resourceVersion": "4411",
			"creationTimestamp": "2026-01-02T15:04:05Z",
			"labels": {"app": "web"}
		},
		"spec": {
			"ports": [
				{"name": "http", "protocol": "TCP", "appProtocol": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
				{"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": 9090, "nodePort": 30090}
			],
			"selector": {"app": "web"},
			"clusterIP": "10.96.12.34",
			"clusterIPs": ["10.96.12.34", "fd00:10:96::1234"],
			"type": "LoadBalancer",
			"externalIPs": ["203.0.113.7"],
			"sessionAffinity": "ClientIP",
			"loadBalancerIP": "203.0.113.10",
			"externalTrafficPolicy": "Local",
			"internalTrafficPolicy": "Cluster",
			"ipFamilies": ["IPv4", "IPv6"],
			"ipFamilyPolicy": "PreferDualStack",
			"publishNotReadyAddresses": true
		},
		"status": {
			"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}, {"hostname": "web.lb.example.com"}]}
		}
	}`},
	{"ServiceExternalName", func() any { return new(Service) }, `{
		"apiVersion": "v1",
		"kind": "Service",
		"metadata": {"name": "db", "namespace": "default"},
		"spec": {"type": "ExternalName", "externalName": "db.example.com", "sessionAffinity": "None"}
	}`},
	{"Endpoints", func() any { return new(Endpoints) }, `{
		"apiVersion": "v1",
		"kind": "Endpoints",
		"metadata": {
			"name": "web",
			"namespace": "default",
			"resourceVersion": "5120",
			"creationTimestamp": "2026-01-02T15:04:06Z",
			"labels": {"app": "web"}
		},
		"subsets": [{
			"addresses": [
				{
					"ip": "10.244.1.7",
					"hostname": "web-0",
					"nodeName": "node-1",
					"targetRef": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "8d1f2e3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}
				}
			],
			"notReadyAddresses": [
				{
					"ip": "10.244.2.9",
					"nodeName": "node-2",
					"targetRef": {"kind": "Pod", "namespace": "default", "name": "web-1", "uid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "resourceVersion": "5101"}
				}
			],
			"ports": [
				{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"},
				{"name": "metrics", "port": 9090, "protocol": "TCP"}
			]
		}]
	}`},
	{"ConfigMap", func() any { return new(ConfigMap) }, `{
		"apiVersion": "v1",
		"kind": "ConfigMap",
		"metadata": {"name": "web-config", "namespace": "default", "resourceVersion": "77"},
		"immutable": false,
		"data": {
			"nginx.conf": "server {\n  listen 8080;\n}\n",
			"LOG_LEVEL": "info"
		},
		"binaryData": {"logo.png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}
	}`},
	{"Secret", func() any { return new(Secret) }, `{
		"apiVersion": "v1",
		"kind": "Secret",
		"metadata": {"name": "db-auth", "namespace": "default", "resourceVersion": "78"},
		"immutable": true,
		"type": "kubernetes.io/basic-auth",
		"data": {"username": "YWRtaW4=", "password": "czNjcjN0IQ=="},
		"stringData": {"note": "rotated monthly"}
	}`},
	{"SecretTLS", func() any { return new(Secret) }, `{
		"apiVersion": "v1",
		"kind": "Secret",
		"metadata": {"name": "web-tls", "namespace": "default"},
		"type": "kubernetes.io/tls",
		"data": {"tls.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==", "tls.key": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg=="}
	}`},
	{"ServiceAccount", func() any { return new(ServiceAccount) }, `{
		"apiVersion": "v1",
		"kind": "ServiceAccount",
		"metadata": {"name": "builder", "namespace": "ci", "uid": "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c"},
		"secrets": [{"name": "builder-token-x7k2p"}, {"kind": "Secret", "namespace": "ci", "name": "builder-ssh"}],
		"imagePullSecrets": [{"name": "regcred"}],
		"automountServiceAccountToken": false
	}`},
	{"EventKubelet", func() any { return new(Event) }, `{
		"apiVersion": "v1",
		"kind": "Event",
		"metadata": {
			"name": "web-0.17f3a2b4c5d6e7f8",
			"namespace": "default",
			"uid": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
			"resourceVersion": "6001",
			"creationTimestamp": "2026-01-02T15:05:00Z"
		},
		"involvedObject": {
			"kind": "Pod",
			"namespace": "default",
			"name": "web-0",
			"uid": "8d1f2e3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
			"apiVersion": "v1",
			"resourceVersion": "5001",
			"fieldPath": "spec.containers{web}"
		},
		"reason": "BackOff",
		"message": "Back-off restarting failed container web in pod web-0_default(8d1f2e3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f)",
		"source": {"component": "kubelet", "host": "node-1"},
		"firstTimestamp": "2026-01-02T15:05:00Z",
		"lastTimestamp": "2026-01-02T15:09:30Z",
		"count": 12,
		"type": "Warning",
		"reportingComponent": "kubelet",
		"reportingInstance": "node-1"
	}`},
	{"EventSeries", func() any { return new(Event) }, `{
		"apiVersion": "v1",
		"kind": "Event",
		"metadata": {"name": "web-0.17f3a2b4c5d6e7f9", "namespace": "default"},
		"involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "8d1f2e3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "apiVersion": "v1"},
		"reason": "Scheduled",
		"message": "Successfully assigned default/web-0 to node-1",
		"type": "Normal",
		"eventTime": "2026-01-02T15:04:06.123456Z",
		"series": {"count": 3, "lastObservedTime": "2026-01-02T15:06:07.654321Z"},
		"action": "Binding",
		"related": {"kind": "Node", "name": "node-1", "apiVersion": "v1"},
		"reportingComponent": "default-scheduler",
		"reportingInstance": "default-scheduler-cp-1"
	}`},
	{"Deployment", func() any { return new(Deployment) }, `{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "web",
			"namespace": "default",
			"uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
			"resourceVersion": "7002",
			"generation": 4,
			"creationTimestamp": "2026-01-02T15:04:05Z",
			"labels": {"app": "web"},
			"annotations": {"deployment.kubernetes.io/revision": "3"}
		},
		"spec": {
			"replicas": 3,
			"selector": {
				"matchLabels": {"app": "web"},
				"matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend", "edge"]}]
			},
			"template": {
				"metadata": {"labels": {"app": "web", "tier": "frontend"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-02T15:00:00Z"}},
				"spec": {
					"containers": [{
						"name": "web",
						"image": "nginx:1.27",
						"ports": [{"containerPort": 80, "protocol": "TCP"}],
						"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
						"terminationMessagePath": "/dev/termination-log",
						"terminationMessagePolicy": "File",
						"imagePullPolicy": "IfNotPresent"
					}],
					"restartPolicy": "Always",
					"terminationGracePeriodSeconds": 30,
					"dnsPolicy": "ClusterFirst",
					"schedulerName": "default-scheduler"
				}
			},
			"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
			"minReadySeconds": 5,
			"revisionHistoryLimit": 10,
			"paused": true,
			"progressDeadlineSeconds": 600
		},
		"status": {
			"observedGeneration": 4,
			"replicas": 4,
			"updatedReplicas": 2,
			"readyReplicas": 3,
			"availableReplicas": 3,
			"unavailableReplicas": 1,
			"conditions": [
				{
					"type": "Available",
					"status": "True",
					"lastUpdateTime": "2026-01-02T15:04:30Z",
					"lastTransitionTime": "2026-01-02T15:04:30Z",
					"reason": "MinimumReplicasAvailable",
					"message": "Deployment has minimum availability."
				},
				{
					"type": "Progressing",
					"status": "Unknown",
					"lastUpdateTime": "2026-01-02T16:00:00Z",
					"lastTransitionTime": "2026-01-02T16:00:00Z",
					"reason": "DeploymentPaused",
					"message": "Deployment is paused"
				}
			],
			"collisionCount": 1
		}
	}`},
	{"DeploymentRecreate", func() any { return new(Deployment) }, `{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "db", "namespace": "default"},
		"spec": {
			"selector": {"matchLabels": {"app": "db"}},
			"template": {
				"metadata": {"labels": {"app": "db"}},
				"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}
			},
			"strategy": {"type": "Recreate"}
		}
	}`},
	{"ReplicaSet", func() any { return new(ReplicaSet) }, `{
		"apiVersion": "apps/v1",
		"kind": "ReplicaSet",
		"metadata": {
			"name": "web-7d9f8c6b5",
			"namespace": "default",
			"uid": "4f3e2d1c-0b9a-4876-a543-210fedcba987",
			"resourceVersion": "7010",
			"generation": 2,
			"labels": {"app": "web", "pod-template-hash": "7d9f8c6b5"},
			"annotations": {"deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/revision": "3"},
			"ownerReferences": [{
				"apiVersion": "apps/v1",
				"kind": "Deployment",
				"name": "web",
				"uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
				"controller": true,
				"blockOwnerDeletion": true
			}]
		},
		"spec": {
			"replicas": 3,
			"minReadySeconds": 5,
			"selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d9f8c6b5"}},
			"template": {
				"metadata": {"labels": {"app": "web", "pod-template-hash": "7d9f8c6b5"}},
				"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
			}
		},
		"status": {
			"replicas": 3,
			"fullyLabeledReplicas": 3,
			"readyReplicas": 2,
			"availableReplicas": 2,
			"observedGeneration": 2,
			"conditions": [{
				"type": "ReplicaFailure",
				"status": "True",
				"lastTransitionTime": "2026-01-02T15:10:00Z",
				"reason": "FailedCreate",
				"message": "pods \"web-7d9f8c6b5-x2x9q\" is forbidden: exceeded quota: compute-resources"
			}]
		}
	}`},
	{"ReplicaSetScaledDown", func() any { return new(ReplicaSet) }, `{
		"apiVersion": "apps/v1",
		"kind": "ReplicaSet",
		"metadata": {"name": "web-5c4b3a291", "namespace": "default"},
		"spec": {
			"replicas": 0,
			"selector": {"matchLabels": {"app": "web", "pod-template-hash": "5c4b3a291"}},
			"template": {
				"metadata": {"labels": {"app": "web", "pod-template-hash": "5c4b3a291"}},
				"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}
			}
		},
		"status": {"replicas": 0, "observedGeneration": 5}
	}`},
	{"DaemonSet", func() any { return new(DaemonSet) }, `{
		"apiVersion": "apps/v1",
		"kind": "DaemonSet",
		"metadata": {
			"name": "log-agent",
			"namespace": "kube-system",
			"generation": 3,
			"labels": {"app": "log-agent"},
			"annotations": {"deprecated.daemonset.template.generation": "3"}
		},
		"spec": {
			"selector": {"matchLabels": {"app": "log-agent"}},
			"template": {
				"metadata": {"labels": {"app": "log-agent"}},
				"spec": {
					"containers": [{
						"name": "agent",
						"image": "fluent/fluent-bit:3.1",
						"volumeMounts": [{"name": "varlog", "mountPath": "/var/log", "readOnly": true}]
					}],
					"volumes": [{"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}}],
					"tolerations": [{"operator": "Exists"}],
					"priorityClassName": "system-node-critical"
				}
			},
			"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
			"minReadySeconds": 10,
			"revisionHistoryLimit": 5
		},
		"status": {
			"currentNumberScheduled": 3,
			"numberMisscheduled": 0,
			"desiredNumberScheduled": 3,
			"numberReady": 2,
			"observedGeneration": 3,
			"updatedNumberScheduled": 2,
			"numberAvailable": 2,
			"numberUnavailable": 1,
			"collisionCount": 0,
			"conditions": [{"type": "Stalled", "status": "False", "lastTransitionTime": "2026-01-02T15:10:00Z", "reason": "Progressing"}]
		}
	}`},
	{"DaemonSetOnDelete", func() any { return new(DaemonSet) }, `{
		"apiVersion": "apps/v1",
		"kind": "DaemonSet",
		"metadata": {"name": "node-exporter", "namespace": "monitoring"},
		"spec": {
			"selector": {"matchLabels": {"app": "node-exporter"}},
			"template": {
				"metadata": {"labels": {"app": "node-exporter"}},
				"spec": {"hostNetwork": true, "hostPID": true, "containers": [{"name": "exporter", "image": "prom/node-exporter:v1.8.2"}]}
			},
			"updateStrategy": {"type": "OnDelete"}
		}
	}`},
	{"Job", func() any { return new(Job) }, `{
		"apiVersion": "batch/v1",
		"kind": "Job",
		"metadata": {
			"name": "resize-images",
			"namespace": "batch",
			"uid": "7c6b5a49-3827-4165-9f4e-3d2c1b0a9f8e",
			"generation": 1,
			"labels": {"batch.kubernetes.io/job-name": "resize-images"}
		},
		"spec": {
			"parallelism": 4,
			"completions": 10,
			"activeDeadlineSeconds": 3600,
			"backoffLimit": 3,
			"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "7c6b5a49-3827-4165-9f4e-3d2c1b0a9f8e"}},
			"manualSelector": false,
			"template": {
				"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "7c6b5a49-3827-4165-9f4e-3d2c1b0a9f8e", "batch.kubernetes.io/job-name": "resize-images"}},
				"spec": {
					"containers": [{"name": "resize", "image": "example.com/resize:2.0", "args": ["--index=$(JOB_COMPLETION_INDEX)"]}],
					"restartPolicy": "Never"
				}
			},
			"ttlSecondsAfterFinished": 86400,
			"completionMode": "Indexed",
			"suspend": false
		},
		"status": {
			"conditions": [{
				"type": "Failed",
				"status": "True",
				"lastProbeTime": "2026-01-02T16:04:05Z",
				"lastTransitionTime": "2026-01-02T16:04:05Z",
				"reason": "DeadlineExceeded",
				"message": "Job was active longer than specified deadline"
			}],
			"startTime": "2026-01-02T15:04:05Z",
			"active": 2,
			"succeeded": 7,
			"failed": 1,
			"completedIndexes": "0-3,5,7,9",
			"ready": 1
		}
	}`},
	{"JobComplete", func() any { return new(Job) }, `{
		"apiVersion": "batch/v1",
		"kind": "Job",
		"metadata": {"name": "pi", "namespace": "default"},
		"spec": {
			"completionMode": "NonIndexed",
			"template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}], "restartPolicy": "OnFailure"}}
		},
		"status": {
			"conditions": [
				{"type": "Suspended", "status": "False", "lastProbeTime": "2026-01-02T15:04:06Z", "lastTransitionTime": "2026-01-02T15:04:06Z", "reason": "JobResumed", "message": "Job resumed"},
				{"type": "Complete", "status": "True", "lastProbeTime": "2026-01-02T15:05:06Z", "lastTransitionTime": "2026-01-02T15:05:06Z"}
			],
			"startTime": "2026-01-02T15:04:06Z",
			"completionTime": "2026-01-02T15:05:06Z",
			"succeeded": 1,
			"ready": 0
		}
	}`},
	{"Lease", func() any { return new(Lease) }, `{
		"apiVersion": "coordination.k8s.io/v1",
		"kind": "Lease",
		"metadata": {"name": "node-1", "namespace": "kube-node-lease", "resourceVersion": "99001",
			"ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "0b6f6c2e-7f57-4b8e-a0a5-3f0f1e2d3c4b"}]},
		"spec": {
			"holderIdentity": "node-1",
			"leaseDurationSeconds": 40,
			"acquireTime": "2026-01-02T15:04:05.000000Z",
			"renewTime": "2026-01-02T16:10:00.123456Z",
			"leaseTransitions": 2
		}
	}`},
}

// podJSON is a Pod with every field Drover implements, as the API serves it.
const podJSON = `{
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {
		"name": "web-0",
		"generateName": "web-",
		"namespace": "default",
		"uid": "8d1f2e3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
		"resourceVersion": "5001",
		"creationTimestamp": "2026-01-02T15:04:05Z",
		"labels": {"app": "web", "pod-template-hash": "7d9f8c6b5"},
		"annotations": {"prometheus.io/scrape": "true"},
		"ownerReferences": [{
			"apiVersion": "apps/v1",
			"kind": "ReplicaSet",
			"name": "web-7d9f8c6b5",
			"uid": "4f3e2d1c-0b9a-4876-a543-210fedcba987",
			"controller": true,
			"blockOwnerDeletion": true
		}]
	},
	"spec": {
		"volumes": [
			{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
			{"name": "scratch", "emptyDir": {}},
			{"name": "host-certs", "hostPath": {"path": "/etc/ssl/certs", "type": "DirectoryOrCreate"}},
			{"name": "config", "configMap": {
				"name": "web-config",
				"items": [{"key": "nginx.conf", "path": "nginx.conf", "mode": 420}],
				"defaultMode": 292,
				"optional": false
			}},
			{"name": "tls", "secret": {
				"secretName": "web-tls",
				"items": [{"key": "tls.crt", "path": "cert.pem"}, {"key": "tls.key", "path": "key.pem", "mode": 256}],
				"defaultMode": 256,
				"optional": true
			}},
			{"name": "kube-api-access-abcde", "projected": {
				"sources": [
					{"serviceAccountToken": {"audience": "https://kubernetes.default.svc", "expirationSeconds": 3607, "path": "token"}},
					{"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
					{"secret": {"name": "extra-creds", "items": [{"key": "id", "path": "id"}], "optional": true}},
					{"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
				],
				"defaultMode": 420
			}},
			{"name": "podinfo", "downwardAPI": {
				"items": [
					{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
					{"path": "cpu_limit", "resourceFieldRef": {"containerName": "web", "resource": "limits.cpu", "divisor": "1m"}, "mode": 384}
				],
				"defaultMode": 420
			}}
		],
		"initContainers": [{
			"name": "migrate",
			"image": "example.com/web-migrate:1.4.2",
			"command": ["/bin/migrate"],
			"args": ["--up"],
			"envFrom": [{"secretRef": {"name": "db-auth"}}],
			"resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}},
			"terminationMessagePath": "/dev/termination-log",
			"terminationMessagePolicy": "FallbackToLogsOnError",
			"imagePullPolicy": "Always"
		}],
		"containers": [
			{
				"name": "web",
				"image": "example.com/web:1.4.2",
				"command": ["/usr/local/bin/web"],
				"args": ["--listen=:8080", "--log-level=$(LOG_LEVEL)"],
				"workingDir": "/srv",
				"ports": [
					{"name": "http", "containerPort": 8080, "protocol": "TCP"},
					{"name": "metrics", "hostPort": 9090, "containerPort": 9090, "protocol": "TCP", "hostIP": "127.0.0.1"},
					{"name": "dns", "containerPort": 5353, "protocol": "UDP"}
				],
				"envFrom": [
					{"prefix": "CFG_", "configMapRef": {"name": "web-config", "optional": true}},
					{"secretRef": {"name": "web-secrets", "optional": false}}
				],
				"env": [
					{"name": "LOG_LEVEL", "value": "debug"},
					{"name": "EMPTY"},
					{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
					{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
					{"name": "MEM_LIMIT_MI", "valueFrom": {"resourceFieldRef": {"containerName": "web", "resource": "limits.memory", "divisor": "1Mi"}}},
					{"name": "CPU_REQUEST", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu"}}},
					{"name": "THEME", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "theme", "optional": true}}},
					{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-auth", "key": "password"}}}
				],
				"resources": {
					"limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "2Gi"},
					"requests": {"cpu": "250m", "memory": "256Mi"}
				},
				"volumeMounts": [
					{"name": "config", "mountPath": "/etc/nginx/nginx.conf", "subPath": "nginx.conf", "readOnly": true},
					{"name": "cache", "mountPath": "/var/cache/web"},
					{"name": "kube-api-access-abcde", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
				],
				"livenessProbe": {
					"httpGet": {
						"path": "/healthz",
						"port": 8080,
						"host": "127.0.0.1",
						"scheme": "HTTPS",
						"httpHeaders": [{"name": "X-Probe", "value": "liveness"}]
					},
					"initialDelaySeconds": 10,
					"timeoutSeconds": 2,
					"periodSeconds": 15,
					"successThreshold": 1,
					"failureThreshold": 4,
					"terminationGracePeriodSeconds": 5
				},
				"readinessProbe": {
					"tcpSocket": {"port": "http", "host": "localhost"},
					"periodSeconds": 5,
					"successThreshold": 2
				},
				"startupProbe": {
					"exec": {"command": ["cat", "/tmp/started"]},
					"failureThreshold": 30,
					"periodSeconds": 2
				},
				"lifecycle": {
					"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo started > /tmp/started"]}},
					"preStop": {"sleep": {"seconds": 5}}
				},
				"terminationMessagePath": "/var/log/termination",
				"terminationMessagePolicy": "File",
				"imagePullPolicy": "IfNotPresent",
				"securityContext": {
					"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
					"privileged": false,
					"runAsUser": 1000,
					"runAsGroup": 3000,
					"runAsNonRoot": true,
					"readOnlyRootFilesystem": true,
					"allowPrivilegeEscalation": false
				}
			},
			{
				"name": "sidecar",
				"image": "busybox:1.36",
				"stdin": true,
				"tty": true,
				"lifecycle": {
					"postStart": {"httpGet": {"path": "/ready", "port": "admin"}},
					"preStop": {"tcpSocket": {"port": 9000}}
				},
				"securityContext": {"privileged": true}
			}
		],
		"restartPolicy": "Always",
		"terminationGracePeriodSeconds": 45,
		"activeDeadlineSeconds": 86400,
		"dnsPolicy": "None",
		"nodeSelector": {"kubernetes.io/os": "linux", "disktype": "ssd"},
		"serviceAccountName": "web",
		"serviceAccount": "web",
		"automountServiceAccountToken": false,
		"nodeName": "node-1",
		"hostPID": true,
		"hostIPC": true,
		"securityContext": {
			"runAsUser": 1000,
			"runAsGroup": 3000,
			"runAsNonRoot": true,
			"supplementalGroups": [4000, 5000],
			"fsGroup": 2000
		},
		"imagePullSecrets": [{"name": "regcred"}],
		"hostname": "web-0",
		"subdomain": "web-headless",
		"affinity": {
			"nodeAffinity": {
				"requiredDuringSchedulingIgnoredDuringExecution": {
					"nodeSelectorTerms": [
						{
							"matchExpressions": [
								{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-a", "zone-b"]},
								{"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"},
								{"key": "example.com/cores", "operator": "Gt", "values": ["3"]}
							]
						},
						{
							"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["node-9"]}]
						}
					]
				},
				"preferredDuringSchedulingIgnoredDuringExecution": [
					{"weight": 80, "preference": {"matchExpressions": [{"key": "disktype", "operator": "Exists"}]}},
					{"weight": 20, "preference": {"matchExpressions": [{"key": "example.com/age", "operator": "Lt", "values": ["30"]}]}}
				]
			},
			"podAffinity": {
				"requiredDuringSchedulingIgnoredDuringExecution": [{
					"labelSelector": {"matchLabels": {"app": "cache"}},
					"namespaces": ["default", "caching"],
					"topologyKey": "topology.kubernetes.io/zone"
				}],
				"preferredDuringSchedulingIgnoredDuringExecution": [{
					"weight": 50,
					"podAffinityTerm": {
						"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]},
						"topologyKey": "kubernetes.io/hostname",
						"namespaceSelector": {"matchLabels": {"team": "data"}}
					}
				}]
			},
			"podAntiAffinity": {
				"requiredDuringSchedulingIgnoredDuringExecution": [{
					"labelSelector": {"matchLabels": {"app": "web"}},
					"topologyKey": "kubernetes.io/hostname",
					"namespaceSelector": {}
				}],
				"preferredDuringSchedulingIgnoredDuringExecution": [{
					"weight": 100,
					"podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "topology.kubernetes.io/zone"}
				}]
			}
		},
		"schedulerName": "default-scheduler",
		"tolerations": [
			{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
			{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
			{"operator": "Exists"}
		],
		"hostAliases": [{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}],
		"priorityClassName": "high-priority",
		"priority": 1000000,
		"dnsConfig": {
			"nameservers": ["1.1.1.1"],
			"searches": ["default.svc.cluster.local", "svc.cluster.local"],
			"options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]
		},
		"readinessGates": [{"conditionType": "example.com/feature-1"}],
		"enableServiceLinks": false,
		"preemptionPolicy": "PreemptLowerPriority",
		"overhead": {"cpu": "250m", "memory": "120Mi"},
		"topologySpreadConstraints": [
			{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}, "minDomains": 3},
			{"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "web"}}}
		]
	},
	"status": {
		"phase": "Running",
		"conditions": [
			{"type": "example.com/feature-1", "status": "True", "lastProbeTime": "2026-01-02T15:04:30Z", "lastTransitionTime": "2026-01-02T15:04:30Z"},
			{"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-02T15:04:12Z"},
			{"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-02T15:09:00Z", "reason": "ContainersNotReady", "message": "containers with unready status: [web]"},
			{"type": "ContainersReady", "status": "False", "lastTransitionTime": "2026-01-02T15:09:00Z", "reason": "ContainersNotReady", "message": "containers with unready status: [web]"},
			{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-02T15:04:05Z"}
		],
		"message": "container web is restarting",
		"reason": "Restarting",
		"nominatedNodeName": "node-2",
		"hostIP": "192.168.1.10",
		"hostIPs": [{"ip": "192.168.1.10"}, {"ip": "fd00::10"}],
		"podIP": "10.244.1.7",
		"podIPs": [{"ip": "10.244.1.7"}, {"ip": "fd00:10:244:1::7"}],
		"startTime": "2026-01-02T15:04:06Z",
		"initContainerStatuses": [{
			"name": "migrate",
			"state": {"terminated": {
				"exitCode": 0,
				"reason": "Completed",
				"startedAt": "2026-01-02T15:04:08Z",
				"finishedAt": "2026-01-02T15:04:11Z",
				"containerID": "containerd://1111111111111111111111111111111111111111111111111111111111111111"
			}},
			"ready": true,
			"restartCount": 0,
			"image": "example.com/web-migrate:1.4.2",
			"imageID": "example.com/web-migrate@sha256:2222222222222222222222222222222222222222222222222222222222222222",
			"containerID": "containerd://1111111111111111111111111111111111111111111111111111111111111111",
			"started": false
		}],
		"containerStatuses": [
			{
				"name": "web",
				"state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=web pod=web-0_default(8d1f2e3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f)"}},
				"lastState": {"terminated": {
					"exitCode": 137,
					"signal": 9,
					"reason": "OOMKilled",
					"message": "out of memory",
					"startedAt": "2026-01-02T15:08:00Z",
					"finishedAt": "2026-01-02T15:08:59Z",
					"containerID": "containerd://3333333333333333333333333333333333333333333333333333333333333333"
				}},
				"ready": false,
				"restartCount": 3,
				"image": "example.com/web:1.4.2",
				"imageID": "example.com/web@sha256:4444444444444444444444444444444444444444444444444444444444444444",
				"containerID": "containerd://3333333333333333333333333333333333333333333333333333333333333333",
				"started": false
			},
			{
				"name": "sidecar",
				"state": {"running": {"startedAt": "2026-01-02T15:04:13Z"}},
				"ready": true,
				"restartCount": 0,
				"image": "docker.io/library/busybox:1.36",
				"imageID": "docker.io/library/busybox@sha256:5555555555555555555555555555555555555555555555555555555555555555",
				"containerID": "containerd://6666666666666666666666666666666666666666666666666666666666666666",
				"started": true
			}
		],
		"qosClass": "Burstable"
	}
}`

// TestKindJSON decodes each document strictly, encodes it again and checks
// that the JSON value survived unchanged.
func TestKindJSON(t *testing.T) {
	for _, tc := range kindJSONCases {
		t.Run(tc.name, func(t *testing.T) {
			obj := tc.new()
			dec := json.NewDecoder(bytes.NewReader([]byte(tc.doc)))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(obj))
			require.False(t, dec.More(), "trailing data after the document")

			out, err := json.Marshal(obj)
			require.NoError(t, err)

			var want, got any
			require.NoError(t, json.Unmarshal([]byte(tc.doc), &want))
			require.NoError(t, json.Unmarshal(out, &got))
			assert.Equal(t, want, got, "re-encoded:\n%s", out)
		})
	}
}

// TestKindJSONZero checks that zero objects encode to {}: omitzero leaves
// out empty metadata, spec and status.
func TestKindJSONZero(t *testing.T) {
	for _, obj := range []any{
		&Namespace{}, &Node{}, &Pod{}, &Service{}, &Endpoints{}, &ConfigMap{},
		&Secret{}, &ServiceAccount{}, &Deployment{}, &ReplicaSet{},
		&DaemonSet{}, &Job{}, &Lease{}, &PodTemplateSpec{},
	} {
		out, err := json.Marshal(obj)
		require.NoError(t, err)
		assert.JSONEq(t, `{}`, string(out), "%T", obj)
	}
	// Event's reporting fields are always present, as in Kubernetes.
	out, err := json.Marshal(&Event{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"involvedObject":{},"reportingComponent":"","reportingInstance":""}`, string(out))
}

// TestKindJSONNullTimes checks that the nulls Kubernetes writes for unset
// non-pointer times (and empty structs such as lastState) decode, and are
// then left out.
func TestKindJSONNullTimes(t *testing.T) {
	in := `{
		"metadata": {"name": "p", "creationTimestamp": null},
		"spec": {"containers": [{"name": "c", "image": "busybox", "resources": {}}]},
		"status": {
			"conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-01-02T15:04:05Z"}],
			"containerStatuses": [{"name": "c", "state": {"running": {"startedAt": "2026-01-02T15:04:06Z"}}, "lastState": {},
				"ready": true, "restartCount": 0, "image": "busybox", "imageID": ""}]
		}
	}`
	want := `{
		"metadata": {"name": "p"},
		"spec": {"containers": [{"name": "c", "image": "busybox"}]},
		"status": {
			"conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-02T15:04:05Z"}],
			"containerStatuses": [{"name": "c", "state": {"running": {"startedAt": "2026-01-02T15:04:06Z"}},
				"ready": true, "restartCount": 0, "image": "busybox", "imageID": ""}]
		}
	}`
	dec := json.NewDecoder(bytes.NewReader([]byte(in)))
	dec.DisallowUnknownFields()
	var pod Pod
	require.NoError(t, dec.Decode(&pod))
	out, err := json.Marshal(&pod)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(out))
}
