package apis

// Validation of the sources and sinks kinds.

func validateKafkaSink(errs *errorList, k *KafkaSink) {
	if k.Spec.Topic == "" {
		errs.add("spec.topic", "", "required: the Kafka topic events are written to")
	}
}
