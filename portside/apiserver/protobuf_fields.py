"""Field numbers of the Kubernetes protobuf messages behind portside's models: one line of facts per message.

The numbers are those of the published ``generated.proto`` files of k8s.io/api and k8s.io/apimachinery; the
names are the models' wire (JSON) names, so a message's line pairs each field of its model with its number, and
:mod:`.protobuf` decodes a body by walking the model with these numbers in hand. The models give each field's
type; a line adds only what the Go structs know and the models do not. A message line is tokens separated by
spaces:

``name=N``
    the model's field ``name`` is field N; a zero value (``""``, 0, false) is left out, as Go's ``omitempty``
    JSON leaves it out.
``name=N!``
    a zero value is kept: the Go field is a pointer (on the wire only when set, so 0 or false is a value the
    user gave) or has no ``omitempty``.
``name=N.M``
    field M of the struct Go embeds at field N, which JSON flattens into this object (a Probe's handler, a
    Volume's source); ``@N=Message`` names that embedded struct.
``name=N:Type``
    the field's message when its model is shared by several messages (``Condition`` shapes, key selectors), or
    ``bytes`` (base64 in JSON), ``json`` (a RawExtension or FieldsV1: JSON bytes), ``micro`` (a MicroTime).
``name=-``
    the model's field does not exist in this message (a model shared by messages that differ).
``-name=N``
    a Kubernetes field portside does not model: accepted only when zero (Go writes its non-pointer fields even
    when unset, so a zero says nothing); ``-name=N?`` (a pointer, list or map) is refused whenever present.

A field number missing from its message's line is refused as well: the body is never accepted with a part of it
dropped. tests/apiserver/test_protobuf_decoder.py checks that every field of every model a served kind reaches
has its number here.
"""

from __future__ import annotations

__all__ = ["MESSAGES", "META", "CORE", "APPS", "BATCH", "POLICY", "SCHEDULING", "COORDINATION", "AUTOSCALING",
           "AUTOSCALING_V2", "STORAGE", "AUTHORIZATION", "NETWORKING"]

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
CORE = "k8s.io.api.core.v1"
APPS = "k8s.io.api.apps.v1"
BATCH = "k8s.io.api.batch.v1"
POLICY = "k8s.io.api.policy.v1"
SCHEDULING = "k8s.io.api.scheduling.v1"
COORDINATION = "k8s.io.api.coordination.v1"
AUTOSCALING = "k8s.io.api.autoscaling.v1"
AUTOSCALING_V2 = "k8s.io.api.autoscaling.v2"
STORAGE = "k8s.io.api.storage.v1"
AUTHORIZATION = "k8s.io.api.authorization.v1"
NETWORKING = "k8s.io.api.networking.v1"

# protobuf package -> {message: its fields}. A message named in a line is looked for in the line's own package
# first, then in the one package that has it (ObjectMeta, PodTemplateSpec...).
MESSAGES: dict[str, dict[str, str]] = {
    META: {
        "OwnerReference": "apiVersion=5! kind=1! name=3! uid=4! controller=6! blockOwnerDeletion=7!",
        "ManagedFieldsEntry": "manager=1 operation=2 apiVersion=3 time=4 fieldsType=6 fieldsV1=7:json subresource=8",
        "ObjectMeta": (
            "name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7 creationTimestamp=8 "
            "deletionTimestamp=9 deletionGracePeriodSeconds=10! labels=11 annotations=12 ownerReferences=13 "
            "finalizers=14 managedFields=17"),
        "LabelSelectorRequirement": "key=1! operator=2! values=3",
        "LabelSelector": "matchLabels=1 matchExpressions=2",
        "Condition": "type=1! status=2! observedGeneration=3 lastTransitionTime=4 reason=5! message=6!",
        "Preconditions": "uid=1! resourceVersion=2!",
        "DeleteOptions": (
            "apiVersion=- kind=- gracePeriodSeconds=1! preconditions=2 orphanDependents=3! propagationPolicy=4! "
            "dryRun=5 -ignoreStoreReadErrorWithClusterBreakingPotential=6?"),
    },
    CORE: {
        "NamespaceSpec": "finalizers=1",
        "NamespaceCondition": "type=1! status=2! lastTransitionTime=4 reason=5 message=6",
        "NamespaceStatus": "phase=1 conditions=2",
        "Namespace": "metadata=1 spec=2 status=3",
        "Taint": "key=1! value=2 effect=3! timeAdded=4",
        "NodeSpec": (
            "podCIDR=1 podCIDRs=7 providerID=3 unschedulable=4 taints=5 -configSource=6? -externalID=2 "
            "-podPreemptionPolicy=8?"),
        "NodeCondition": "type=1! status=2! lastHeartbeatTime=3 lastTransitionTime=4 reason=5 message=6",
        "NodeAddress": "type=1! address=2!",
        "DaemonEndpoint": "Port=1!",
        "NodeDaemonEndpoints": "kubeletEndpoint=1",
        "NodeSystemInfo": (
            "machineID=1! systemUUID=2! bootID=3! kernelVersion=4! osImage=5! containerRuntimeVersion=6! "
            "kubeletVersion=7! kubeProxyVersion=8! operatingSystem=9! architecture=10! -swap=11?"),
        "ContainerImage": "names=1 sizeBytes=2",
        "NodeStatus": (
            "capacity=1 allocatable=2 phase=3 conditions=4 addresses=5 daemonEndpoints=6 nodeInfo=7 images=8 "
            "-volumesInUse=9? -volumesAttached=10? -config=11? -runtimeHandlers=12? -features=13? "
            "-declaredFeatures=14?"),
        "Node": "metadata=1 spec=2 status=3",
        "EmptyDirVolumeSource": "medium=1 sizeLimit=2 -mode=3?",
        "HostPathVolumeSource": "path=1! type=2!",
        "KeyToPath": "key=1! path=2! mode=3! -user=4?",
        "ConfigMapVolumeSource": "@1=LocalObjectReference name=1.1 items=2 defaultMode=3! optional=4! -defaultUser=5?",
        "SecretVolumeSource": "secretName=1 items=2 defaultMode=3! optional=4! -defaultUser=5?",
        "PersistentVolumeClaimVolumeSource": "claimName=1! readOnly=2",
        "ObjectFieldSelector": "apiVersion=1 fieldPath=2!",
        "ResourceFieldSelector": "containerName=1 resource=2! divisor=3",
        "DownwardAPIVolumeFile": "path=1! fieldRef=2 resourceFieldRef=3 mode=4! -user=5?",
        "DownwardAPIVolumeSource": "items=1 defaultMode=2! -defaultUser=3?",
        "Volume": (
            "@2=VolumeSource name=1! emptyDir=2.2 hostPath=2.1 configMap=2.19 secret=2.6 persistentVolumeClaim=2.10 "
            "downwardAPI=2.16 -gcePersistentDisk=2.3? -awsElasticBlockStore=2.4? -gitRepo=2.5? -nfs=2.7? -iscsi=2.8? "
            "-glusterfs=2.9? -rbd=2.11? -flexVolume=2.12? -cinder=2.13? -cephfs=2.14? -flocker=2.15? -fc=2.17? "
            "-azureFile=2.18? -vsphereVolume=2.20? -quobyte=2.21? -azureDisk=2.22? -photonPersistentDisk=2.23? "
            "-projected=2.26? -portworxVolume=2.24? -scaleIO=2.25? -storageos=2.27? -csi=2.28? -ephemeral=2.29? "
            "-image=2.30?"),
        "ContainerPort": "name=1 hostPort=2 containerPort=3! protocol=4 hostIP=5",
        "ConfigMapEnvSource": "@1=LocalObjectReference name=1.1 optional=2!",
        "SecretEnvSource": "@1=LocalObjectReference name=1.1 optional=2!",
        "EnvFromSource": "prefix=1 configMapRef=2:ConfigMapEnvSource secretRef=3:SecretEnvSource",
        "ConfigMapKeySelector": "@1=LocalObjectReference name=1.1 key=2! optional=3!",
        "SecretKeySelector": "@1=LocalObjectReference name=1.1 key=2! optional=3!",
        "EnvVarSource": (
            "fieldRef=1 resourceFieldRef=2 configMapKeyRef=3:ConfigMapKeySelector secretKeyRef=4:SecretKeySelector "
            "-fileKeyRef=5?"),
        "EnvVar": "name=1! value=2 valueFrom=3",
        "ResourceClaim": "name=1! request=2",
        "ResourceRequirements": "limits=1 requests=2 claims=3",
        "ContainerResizePolicy": "resourceName=1! restartPolicy=2!",
        "VolumeMount": (
            "name=1! readOnly=2 recursiveReadOnly=7! mountPath=3! subPath=4 mountPropagation=5! subPathExpr=6 "
            "-bindMountOptions=8?"),
        "ExecAction": "command=1",
        "HTTPHeader": "name=1! value=2!",
        "HTTPGetAction": "path=1 port=2 host=3 scheme=4 httpHeaders=5 -protocol=6?",
        "TCPSocketAction": "port=1 host=2",
        "GRPCAction": "port=1! service=2! -mode=3?",
        "Probe": (
            "@1=ProbeHandler exec=1.1 httpGet=1.2 tcpSocket=1.3 grpc=1.4 initialDelaySeconds=2 timeoutSeconds=3 "
            "periodSeconds=4 successThreshold=5 failureThreshold=6 terminationGracePeriodSeconds=7!"),
        "SleepAction": "seconds=1!",
        "LifecycleHandler": "exec=1 httpGet=2 tcpSocket=3 sleep=4",
        "Lifecycle": "postStart=1 preStop=2 stopSignal=3!",
        "Capabilities": "add=1 drop=2",
        "SELinuxOptions": "user=1 role=2 type=3 level=4",
        "SeccompProfile": "type=1! localhostProfile=2!",
        "AppArmorProfile": "type=1! localhostProfile=2!",
        "SecurityContext": (
            "capabilities=1 privileged=2! seLinuxOptions=3 runAsUser=4! runAsGroup=8! runAsNonRoot=5! "
            "readOnlyRootFilesystem=6! allowPrivilegeEscalation=7! procMount=9! seccompProfile=11 appArmorProfile=12 "
            "-windowsOptions=10?"),
        "Container": (
            "name=1! image=2 command=3 args=4 workingDir=5 ports=6 envFrom=19 env=7 resources=8 resizePolicy=23 "
            "restartPolicy=24! volumeMounts=9 livenessProbe=10 readinessProbe=11 startupProbe=22 lifecycle=12 "
            "terminationMessagePath=13 terminationMessagePolicy=20 imagePullPolicy=14 securityContext=15 stdin=16 "
            "stdinOnce=17 tty=18 -restartPolicyRules=25? -volumeDevices=21?"),
        "Sysctl": "name=1! value=2!",
        "PodSecurityContext": (
            "seLinuxOptions=1 runAsUser=2! runAsGroup=6! runAsNonRoot=3! supplementalGroups=4 "
            "supplementalGroupsPolicy=12! fsGroup=5! fsGroupChangePolicy=9! sysctls=7 seccompProfile=10 "
            "appArmorProfile=11 -windowsOptions=8? -seLinuxChangePolicy=13?"),
        "LocalObjectReference": "name=1",
        "NodeSelectorRequirement": "key=1! operator=2! values=3",
        "NodeSelectorTerm": "matchExpressions=1 matchFields=2",
        "NodeSelector": "nodeSelectorTerms=1",
        "PreferredSchedulingTerm": "weight=1! preference=2",
        "NodeAffinity": (
            "requiredDuringSchedulingIgnoredDuringExecution=1 preferredDuringSchedulingIgnoredDuringExecution=2"),
        "PodAffinityTerm": (
            "labelSelector=1 namespaces=2 topologyKey=3! namespaceSelector=4 matchLabelKeys=5 mismatchLabelKeys=6"),
        "WeightedPodAffinityTerm": "weight=1! podAffinityTerm=2",
        "PodAffinity": (
            "requiredDuringSchedulingIgnoredDuringExecution=1 preferredDuringSchedulingIgnoredDuringExecution=2"),
        "PodAntiAffinity": (
            "requiredDuringSchedulingIgnoredDuringExecution=1 preferredDuringSchedulingIgnoredDuringExecution=2"),
        "Affinity": "nodeAffinity=1 podAffinity=2 podAntiAffinity=3",
        "Toleration": "key=1 operator=2 value=3 effect=4 tolerationSeconds=5!",
        "HostAlias": "ip=1! hostnames=2",
        "PodDNSConfigOption": "name=1 value=2!",
        "PodDNSConfig": "nameservers=1 searches=2 options=3",
        "PodReadinessGate": "conditionType=1!",
        "TopologySpreadConstraint": (
            "maxSkew=1! topologyKey=2! whenUnsatisfiable=3! labelSelector=4 minDomains=5! nodeAffinityPolicy=6! "
            "nodeTaintsPolicy=7! matchLabelKeys=8"),
        "PodOS": "name=1!",
        "PodSchedulingGate": "name=1!",
        "PodSpec": (
            "volumes=1 initContainers=20 containers=2 restartPolicy=3 terminationGracePeriodSeconds=4! "
            "activeDeadlineSeconds=5! dnsPolicy=6 nodeSelector=7 serviceAccountName=8 serviceAccount=9 "
            "automountServiceAccountToken=21! nodeName=10 hostNetwork=11 hostPID=12 hostIPC=13 "
            "shareProcessNamespace=27! securityContext=14 imagePullSecrets=15 hostname=16 subdomain=17 affinity=18 "
            "schedulerName=19 tolerations=22 hostAliases=23 priorityClassName=24 priority=25! dnsConfig=26 "
            "readinessGates=28 runtimeClassName=29! enableServiceLinks=30! preemptionPolicy=31! overhead=32 "
            "topologySpreadConstraints=33 setHostnameAsFQDN=35! os=36 hostUsers=37! schedulingGates=38 resources=40 "
            "-ephemeralContainers=34? -resourceClaims=39? -hostnameOverride=41? -schedulingGroup=43? "
            "-evictionResponders=44?"),
        "PodCondition": (
            "type=1! status=2! lastProbeTime=3 lastTransitionTime=4 reason=5 message=6 -observedGeneration=7"),
        "HostIP": "ip=1!",
        "PodIP": "ip=1!",
        "ContainerStateWaiting": "reason=1 message=2",
        "ContainerStateRunning": "startedAt=1",
        "ContainerStateTerminated": "exitCode=1! signal=2 reason=3 message=4 startedAt=5 finishedAt=6 containerID=7",
        "ContainerState": "waiting=1 running=2 terminated=3",
        "ContainerStatus": (
            "name=1! state=2 lastState=3 ready=4! restartCount=5! image=6! imageID=7! containerID=8 started=9! "
            "allocatedResources=10 resources=11 -volumeMounts=12? -user=13? -allocatedResourcesStatus=14? "
            "-stopSignal=15?"),
        "PodStatus": (
            "phase=1 conditions=2 message=3 reason=4 nominatedNodeName=11 hostIP=5 hostIPs=16:HostIP podIP=6 "
            "podIPs=12 startTime=7 initContainerStatuses=10 containerStatuses=8 qosClass=9 -observedGeneration=17 "
            "-ephemeralContainerStatuses=13? -resize=14 -resourceClaimStatuses=15? -extendedResourceClaimStatus=18? "
            "-allocatedResources=19? -resources=20? -nodeAllocatableResourceClaimStatuses=21? -volumeHealth=22?"),
        "Pod": "metadata=1 spec=2 status=3",
        "ServicePort": "name=1 protocol=2 appProtocol=6! port=3! targetPort=4 nodePort=5",
        "ClientIPConfig": "timeoutSeconds=1!",
        "SessionAffinityConfig": "clientIP=1",
        "ServiceSpec": (
            "ports=1 selector=2 clusterIP=3 clusterIPs=18 type=4 externalIPs=5 sessionAffinity=7 loadBalancerIP=8 "
            "loadBalancerSourceRanges=9 externalName=10 externalTrafficPolicy=11 healthCheckNodePort=12 "
            "publishNotReadyAddresses=13 sessionAffinityConfig=14 ipFamilies=19 ipFamilyPolicy=17! "
            "allocateLoadBalancerNodePorts=20! loadBalancerClass=21! internalTrafficPolicy=22! "
            "trafficDistribution=23!"),
        "LoadBalancerIngress": "ip=1 hostname=2 ipMode=3! -ports=4?",
        "LoadBalancerStatus": "ingress=1",
        "ServiceStatus": "loadBalancer=1 conditions=2:Condition",
        "Service": "metadata=1 spec=2 status=3",
        "ObjectReference": "apiVersion=5 kind=1 namespace=2 name=3 uid=4 resourceVersion=6 fieldPath=7",
        "EndpointAddress": "ip=1! hostname=3 nodeName=4! targetRef=2",
        "EndpointPort": "name=1 port=2! protocol=3 appProtocol=4!",
        "EndpointSubset": "addresses=1 notReadyAddresses=2 ports=3",
        "Endpoints": "metadata=1 subsets=2",
        "ConfigMap": "metadata=1 immutable=4! data=2 binaryData=3:bytes",
        "Secret": "metadata=1 immutable=5! data=2:bytes stringData=4 type=3",
        "EventSource": "component=1 host=2",
        "Event": (
            "metadata=1 involvedObject=2 reason=3 message=4 source=5 firstTimestamp=6 lastTimestamp=7 count=8 type=9 "
            "eventTime=10:micro action=12 related=13 reportingComponent=14! reportingInstance=15! -series=11?"),
        "Binding": "metadata=1 target=2",
        "ScopedResourceSelectorRequirement": "scopeName=1! operator=2! values=3",
        "ScopeSelector": "matchExpressions=1",
        "ResourceQuotaSpec": "hard=1 scopes=2 scopeSelector=3",
        "ResourceQuotaStatus": "hard=1 used=2",
        "ResourceQuota": "metadata=1 spec=2 status=3",
        "LimitRangeItem": "type=1! max=2 min=3 default=4 defaultRequest=5 maxLimitRequestRatio=6",
        "LimitRangeSpec": "limits=1",
        "LimitRange": "metadata=1 spec=2",
        "VolumeNodeAffinity": "required=1",
        "LocalVolumeSource": "path=1! fsType=2!",
        "PersistentVolumeSpec": (
            "@2=PersistentVolumeSource capacity=1 accessModes=3 claimRef=4 persistentVolumeReclaimPolicy=5 "
            "storageClassName=6 mountOptions=7 volumeMode=8! nodeAffinity=9 volumeAttributesClassName=10! "
            "hostPath=2.3 local=2.20 -gcePersistentDisk=2.1? -awsElasticBlockStore=2.2? -glusterfs=2.4? -nfs=2.5? "
            "-rbd=2.6? -iscsi=2.7? -cinder=2.8? -cephfs=2.9? -fc=2.10? -flocker=2.11? -flexVolume=2.12? "
            "-azureFile=2.13? -vsphereVolume=2.14? -quobyte=2.15? -azureDisk=2.16? -photonPersistentDisk=2.17? "
            "-portworxVolume=2.18? -scaleIO=2.19? -storageos=2.21? -csi=2.22?"),
        "PersistentVolumeStatus": "phase=1 message=2 reason=3 lastPhaseTransitionTime=4",
        "PersistentVolume": "metadata=1 spec=2 status=3",
        "VolumeResourceRequirements": "limits=1 requests=2",
        "PersistentVolumeClaimSpec": (
            "accessModes=1 selector=4 resources=2 volumeName=3 storageClassName=5! volumeMode=6! "
            "volumeAttributesClassName=9! -dataSource=7? -dataSourceRef=8?"),
        "PersistentVolumeClaimCondition": "type=1! status=2! lastProbeTime=3 lastTransitionTime=4 reason=5 message=6",
        "PersistentVolumeClaimStatus": (
            "phase=1 accessModes=2 capacity=3 conditions=4 -allocatedResources=5? -allocatedResourceStatuses=7? "
            "-currentVolumeAttributesClassName=8? -modifyVolumeStatus=9? -healthStatus=10?"),
        "PersistentVolumeClaim": "apiVersion=- kind=- metadata=1 spec=2 status=3",  # TypeMeta: not in the message
        "PodTemplateSpec": "metadata=1 spec=2",
        "TopologySelectorLabelRequirement": "key=1! values=2",
        "TopologySelectorTerm": "matchLabelExpressions=1",
    },
    APPS: {
        "RollingUpdateDeployment": "maxUnavailable=1 maxSurge=2",
        "DeploymentStrategy": "type=1 rollingUpdate=2",
        "DeploymentSpec": (
            "replicas=1! selector=2 template=3 strategy=4 minReadySeconds=5 revisionHistoryLimit=6! paused=7 "
            "progressDeadlineSeconds=9!"),
        "DeploymentCondition": (
            "type=1! status=2! lastUpdateTime=6 lastProbeTime=- lastTransitionTime=7 reason=4 message=5"),
        "DeploymentStatus": (
            "observedGeneration=1 replicas=2 updatedReplicas=3 readyReplicas=7 availableReplicas=4 "
            "unavailableReplicas=5 terminatingReplicas=9! conditions=6:DeploymentCondition collisionCount=8!"),
        "Deployment": "metadata=1 spec=2 status=3",
        "ReplicaSetSpec": "replicas=1! minReadySeconds=4 selector=2 template=3",
        "ReplicaSetCondition": (
            "type=1! status=2! lastUpdateTime=- lastProbeTime=- lastTransitionTime=3 reason=4 message=5"),
        "ReplicaSetStatus": (
            "replicas=1! fullyLabeledReplicas=2 readyReplicas=4 availableReplicas=5 terminatingReplicas=7! "
            "observedGeneration=3 conditions=6:ReplicaSetCondition"),
        "ReplicaSet": "metadata=1 spec=2 status=3",
        "RollingUpdateDaemonSet": "maxUnavailable=1 maxSurge=2",
        "DaemonSetUpdateStrategy": "type=1 rollingUpdate=2",
        "DaemonSetSpec": "selector=1 template=2 updateStrategy=3 minReadySeconds=4 revisionHistoryLimit=6!",
        "DaemonSetCondition": (
            "type=1! status=2! lastUpdateTime=- lastProbeTime=- lastTransitionTime=3 reason=4 message=5"),
        "DaemonSetStatus": (
            "currentNumberScheduled=1! numberMisscheduled=2! desiredNumberScheduled=3! numberReady=4! "
            "observedGeneration=5 updatedNumberScheduled=6 numberAvailable=7 numberUnavailable=8 collisionCount=9! "
            "conditions=10:DaemonSetCondition"),
        "DaemonSet": "metadata=1 spec=2 status=3",
        "ControllerRevision": "metadata=1 data=2:json revision=3!",
        "RollingUpdateStatefulSetStrategy": "partition=1! maxUnavailable=2",
        "StatefulSetUpdateStrategy": "type=1 rollingUpdate=2",
        "StatefulSetPersistentVolumeClaimRetentionPolicy": "whenDeleted=1 whenScaled=2",
        "StatefulSetOrdinals": "start=1!",
        "StatefulSetSpec": (
            "replicas=1! selector=2 template=3 volumeClaimTemplates=4 serviceName=5 podManagementPolicy=6 "
            "updateStrategy=7 revisionHistoryLimit=8! minReadySeconds=9 persistentVolumeClaimRetentionPolicy=10 "
            "ordinals=11"),
        "StatefulSetCondition": (
            "type=1! status=2! lastUpdateTime=- lastProbeTime=- lastTransitionTime=3 reason=4 message=5"),
        "StatefulSetStatus": (
            "observedGeneration=1 replicas=2! readyReplicas=3 currentReplicas=4 updatedReplicas=5 currentRevision=6 "
            "updateRevision=7 collisionCount=9! conditions=10:StatefulSetCondition availableReplicas=11!"),
        "StatefulSet": "metadata=1 spec=2 status=3",
    },
    BATCH: {
        "JobSpec": (
            "parallelism=1! completions=2! activeDeadlineSeconds=3! backoffLimit=7! backoffLimitPerIndex=12! "
            "maxFailedIndexes=13! selector=4 manualSelector=5! template=6 ttlSecondsAfterFinished=8! "
            "completionMode=9! suspend=10! podReplacementPolicy=14! managedBy=15! -podFailurePolicy=11? "
            "-successPolicy=16? -scheduling=17?"),
        "JobCondition": "type=1! status=2! lastUpdateTime=- lastProbeTime=3 lastTransitionTime=4 reason=5 message=6",
        "UncountedTerminatedPods": "succeeded=1 failed=2",
        "JobStatus": (
            "conditions=1:JobCondition startTime=2 completionTime=3 active=4 succeeded=5 failed=6 terminating=11! "
            "completedIndexes=7 failedIndexes=10! uncountedTerminatedPods=8 ready=9!"),
        "Job": "metadata=1 spec=2 status=3",
        "JobTemplateSpec": "metadata=1 spec=2",
        "CronJobSpec": (
            "schedule=1! timeZone=8! startingDeadlineSeconds=2! concurrencyPolicy=3 suspend=4! jobTemplate=5 "
            "successfulJobsHistoryLimit=6! failedJobsHistoryLimit=7!"),
        "CronJobStatus": "active=1 lastScheduleTime=4 lastSuccessfulTime=5",
        "CronJob": "metadata=1 spec=2 status=3",
    },
    POLICY: {
        "PodDisruptionBudgetSpec": "minAvailable=1 selector=2 maxUnavailable=3 unhealthyPodEvictionPolicy=4!",
        "PodDisruptionBudgetStatus": (
            "observedGeneration=1 disruptedPods=2 disruptionsAllowed=3! currentHealthy=4! desiredHealthy=5! "
            "expectedPods=6! conditions=7"),
        "PodDisruptionBudget": "metadata=1 spec=2 status=3",
        "Eviction": "metadata=1 deleteOptions=2:DeleteOptions",
    },
    SCHEDULING: {
        "PriorityClass": "metadata=1 value=2! globalDefault=3 description=4 preemptionPolicy=5!",
    },
    COORDINATION: {
        "LeaseSpec": (
            "holderIdentity=1! leaseDurationSeconds=2! acquireTime=3:micro renewTime=4:micro leaseTransitions=5! "
            "strategy=6! preferredHolder=7!"),
        "Lease": "metadata=1 spec=2",
    },
    AUTOSCALING: {
        "ScaleSpec": "replicas=1",
        "ScaleStatus": "replicas=1! selector=2",
        "Scale": "metadata=1 spec=2 status=3",
        "CrossVersionObjectReference": "kind=1! name=2! apiVersion=3",
        "HorizontalPodAutoscalerSpec": (
            "scaleTargetRef=1:CrossVersionObjectReference minReplicas=2! maxReplicas=3! "
            "targetCPUUtilizationPercentage=4!"),
        "HorizontalPodAutoscalerStatus": (
            "observedGeneration=1! lastScaleTime=2 currentReplicas=3! desiredReplicas=4! "
            "currentCPUUtilizationPercentage=5!"),
        "HorizontalPodAutoscaler": (
            "metadata=1 spec=2:HorizontalPodAutoscalerSpec status=3:HorizontalPodAutoscalerStatus"),
    },
    AUTOSCALING_V2: {
        "CrossVersionObjectReference": "kind=1! name=2! apiVersion=3",
        "MetricTarget": "type=1! value=2 averageValue=3 averageUtilization=4!",
        "MetricIdentifier": "name=1! selector=2",
        "ObjectMetricSource": "describedObject=1 target=2 metric=3",
        "PodsMetricSource": "metric=1 target=2",
        "ResourceMetricSource": "name=1! target=2",
        "ContainerResourceMetricSource": "name=1! target=2 container=3!",
        "ExternalMetricSource": "metric=1 target=2",
        "MetricSpec": "type=1! object=2 pods=3 resource=4 containerResource=7 external=5",
        "HPAScalingPolicy": "type=1! value=2! periodSeconds=3!",
        "HPAScalingRules": "stabilizationWindowSeconds=3! selectPolicy=1! policies=2 -tolerance=4?",
        "HorizontalPodAutoscalerBehavior": "scaleUp=1 scaleDown=2",
        "HorizontalPodAutoscalerSpec": "scaleTargetRef=1 minReplicas=2! maxReplicas=3! metrics=4 behavior=5",
        "MetricValueStatus": "value=1 averageValue=2 averageUtilization=3!",
        "ObjectMetricStatus": "metric=1 current=2 describedObject=3",
        "PodsMetricStatus": "metric=1 current=2",
        "ResourceMetricStatus": "name=1! current=2",
        "ContainerResourceMetricStatus": "name=1! current=2 container=3!",
        "ExternalMetricStatus": "metric=1 current=2",
        "MetricStatus": "type=1! object=2 pods=3 resource=4 containerResource=7 external=5",
        "HorizontalPodAutoscalerCondition": (
            "type=1! status=2! lastTransitionTime=3 reason=4 message=5 -observedGeneration=6?"),
        "HorizontalPodAutoscalerStatus": (
            "observedGeneration=1! lastScaleTime=2 currentReplicas=3 desiredReplicas=4! currentMetrics=5 conditions=6"),
        "HorizontalPodAutoscaler": "metadata=1 spec=2 status=3",
    },
    NETWORKING: {
        "IPBlock": "cidr=1! except=2",
        "NetworkPolicyPeer": "podSelector=1 namespaceSelector=2 ipBlock=3",
        "NetworkPolicyPort": "protocol=1 port=2 endPort=3",
        "NetworkPolicyIngressRule": "ports=1 from=2",
        "NetworkPolicyEgressRule": "ports=1 to=2",
        "NetworkPolicySpec": "podSelector=1 ingress=2 egress=3 policyTypes=4",
        "NetworkPolicy": "metadata=1 spec=2",
    },
    STORAGE: {
        "StorageClass": (
            "metadata=1 provisioner=2! parameters=3 reclaimPolicy=4! mountOptions=5 allowVolumeExpansion=6! "
            "volumeBindingMode=7! allowedTopologies=8"),
    },
    AUTHORIZATION: {
        "ResourceAttributes": (
            "namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7 -fieldSelector=8? -labelSelector=9?"),
        "NonResourceAttributes": "path=1 verb=2",
        "SelfSubjectAccessReviewSpec": "resourceAttributes=1 nonResourceAttributes=2",
        "SubjectAccessReviewStatus": "allowed=1! denied=4 reason=2 evaluationError=3",
        "SelfSubjectAccessReview": "metadata=1 spec=2 status=3",
    },
}
