package apis

// Secrets: credentials that sources read (a webhook's token, a poller's
// password). In standalone mode Weft stores core/v1 Secrets itself, like
// any other resource (in its compacted state topic: readable by whoever can
// read that topic, as a Secret in etcd is by whoever can read etcd); in
// Kubernetes mode they are the cluster's own Secrets.

// CoreV1 is the API group and version of core Kubernetes kinds ("v1").
const CoreV1 = "v1"

// KindSecret is the kind of a Secret.
const KindSecret = "Secret"

// Secret is core/v1 Secret: named values, base64 in manifests (data) or
// plain (stringData, merged into data when applied and never stored).
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta `json:"metadata"`
	// Type is the Secret's type (default Opaque); Weft reads only its data.
	Type string `json:"type,omitempty"`
	// Data holds the values; in JSON and YAML each is base64-encoded.
	Data map[string][]byte `json:"data,omitempty"`
	// StringData holds values as plain text; applying the Secret merges
	// them into Data (a key in both takes this value).
	StringData map[string]string `json:"stringData,omitempty"`
}

func (s *Secret) GetTypeMeta() *TypeMeta     { return &s.TypeMeta }
func (s *Secret) GetObjectMeta() *ObjectMeta { return &s.ObjectMeta }
func (s *Secret) GetConditions() []Condition { return nil }

// SecretKeySelector selects one key of a Secret in the referring object's
// namespace (Kubernetes' secretKeyRef).
type SecretKeySelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// SecretValueFromSource is Knative's way to name a secret value
// (GitLabSource's and GitHubSource's secretToken and accessToken).
type SecretValueFromSource struct {
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`
}

// ValueFromField is TriggerMesh's way to give a value: literally, or from a
// Secret (WebhookSource's and HTTPPollerSource's basicAuthPassword).
//
// +kubebuilder:validation:XValidation:rule="!has(self.value) || size(self.value) == 0 || !has(self.valueFromSecret)",message="expected exactly one of value and valueFromSecret, got both"
type ValueFromField struct {
	// Value is the value itself.
	Value string `json:"value,omitempty"`
	// ValueFromSecret names the Secret key holding it; not with Value.
	ValueFromSecret *SecretKeySelector `json:"valueFromSecret,omitempty"`
}

// SecretTypeOpaque is the default type of a Secret.
const SecretTypeOpaque = "Opaque"

// MaxSecretBytes bounds a Secret's data, as Kubernetes does (1 MiB).
const MaxSecretBytes = 1 << 20

// defaultSecret sets type Opaque when unset.
func defaultSecret(s *Secret) {
	if s.Type == "" {
		s.Type = SecretTypeOpaque
	}
}

// MergeStringData merges stringData into data (a key in both takes the
// stringData value) and drops it, as the Kubernetes API server does when it
// stores a Secret; the control plane calls it once the Secret is valid.
func (s *Secret) MergeStringData() {
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
