package apis

// Validation of the messaging and flows kinds (Knative's webhook rules).

func validateChannel(errs *errorList, c *Channel) {
	validateDelivery(errs, "spec.delivery", c.Spec.Delivery, c.ObjectMeta.Namespace, false)
}

func validateSubscription(errs *errorList, s *Subscription) {
	ns := s.ObjectMeta.Namespace
	if s.Spec.Channel.Name == "" {
		errs.add("spec.channel.name", "", "required: the name of a Channel in the Subscription's namespace")
	}
	if s.Spec.Subscriber == nil && s.Spec.Reply == nil {
		errs.add("spec.subscriber", "", "expected at least one of spec.subscriber and spec.reply, got neither")
	}
	if s.Spec.Subscriber != nil {
		validateDestination(errs, "spec.subscriber", s.Spec.Subscriber, ns, false)
	}
	if s.Spec.Reply != nil {
		validateDestination(errs, "spec.reply", s.Spec.Reply, ns, false)
	}
	validateDelivery(errs, "spec.delivery", s.Spec.Delivery, ns, false)
}

func validateSubscriptionUpdate(errs *errorList, old, new *Subscription) {
	if old.Spec.Channel != new.Spec.Channel {
		errs.addReason(reasonImmutable, "spec.channel", "", "immutable: cannot change from %q to %q; delete the Subscription and create it again to move it to another channel",
			old.Spec.Channel.Kind+"/"+old.Spec.Channel.Name, new.Spec.Channel.Kind+"/"+new.Spec.Channel.Name)
	}
}

func validateSequence(errs *errorList, s *Sequence) {
	if len(s.Spec.Steps) == 0 {
		errs.add("spec.steps", "", "required: at least one step")
	}
}

func validateParallel(errs *errorList, p *Parallel) {
	if len(p.Spec.Branches) == 0 {
		errs.add("spec.branches", "", "required: at least one branch")
	}
}
