package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.find;
import static dev.sapienseg.deploy.KnativeManifests.name;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import dev.sapienseg.storage.StorageNotifications;
import io.fabric8.knative.duck.v1.DeliverySpec;
import io.fabric8.knative.duck.v1.Destination;
import io.fabric8.knative.duck.v1.KReference;
import io.fabric8.knative.eventing.v1.Broker;
import io.fabric8.knative.eventing.v1.Trigger;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.knative.sources.v1alpha1.IntegrationSource;
import io.fabric8.knative.sources.v1beta1.KafkaSource;
import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * Eventing: every Trigger filters on a type the function handles and never on its own replies, subscribes the function
 * on a deployed Broker; KafkaSources and AWS IntegrationSources reach a Trigger that takes what they emit; every
 * delivery retries, backs off and ends in a deployed dead-letter sink that is not the function.
 */
final class EventingRules {

    /** The type a KafkaSource gives records that are not CloudEvents (MinIO's JSON). */
    static final String KAFKA_EVENT_TYPE = "dev.knative.kafka.event";

    private EventingRules() {
    }

    static void checkTrigger(Trigger trigger, List<HasMetadata> objects, List<Service> functions, AppConfig cfg,
            List<String> problems) {
        String where = "Trigger " + name(trigger) + ": ";
        if (find(objects, "Broker", trigger.getSpec().getBroker()) == null) {
            problems.add(where + "Broker " + trigger.getSpec().getBroker() + " is not deployed");
        }
        if (trigger.getSpec().getFilters() != null && !trigger.getSpec().getFilters().isEmpty()) {
            problems.add(where + "uses the new `filters` (a feature flag on some clusters); use filter.attributes");
        }
        Map<String, String> attributes = trigger.getSpec().getFilter() == null ? Map.of()
                : Objects.requireNonNullElse(trigger.getSpec().getFilter().getAttributes(), Map.of());
        String type = attributes.get("type");
        if (type == null || type.isBlank()) {
            problems.add(where + "filters on no exact type: it would receive our own replies and loop");
        } else {
            // Our replies carry one of these types and our source, and no extension: they must not match.
            for (String replyKey : List.of("sapiens.events.result-type", "sapiens.events.failure-type",
                    "sapiens.events.stored-type")) {
                Map<String, String> reply = Map.of("type", cfg.get(replyKey), "source", cfg.get("sapiens.events.source"));
                boolean matches = attributes.entrySet().stream().allMatch(a -> a.getValue().equals(reply.get(a.getKey())));
                if (matches) {
                    problems.add(where + "matches our own " + replyKey + " replies: an endless loop");
                }
            }
            boolean handled = type.equals(cfg.get("sapiens.events.request-type"))
                    || type.equals(dev.sapienseg.event.SegmentFunction.KNATIVE_AWS_S3)
                    || StorageNotifications.isStorageType(type)
                    || (type.equals(KAFKA_EVENT_TYPE) && kafkaSourceTagsMatch(attributes, trigger, objects));
            if (!handled) {
                problems.add(where + "type " + type + ": the function does not handle it (request type "
                        + cfg.get("sapiens.events.request-type") + ", storage types, or " + KAFKA_EVENT_TYPE
                        + " with the extensions a KafkaSource sets)");
            }
        }
        checkDestination(where + "subscriber", trigger.getSpec().getSubscriber(), objects, problems);
        if (trigger.getSpec().getSubscriber() == null || trigger.getSpec().getSubscriber().getRef() == null
                || functions.stream().noneMatch(f -> name(f).equals(trigger.getSpec().getSubscriber().getRef().getName()))) {
            problems.add(where + "subscriber is not the function Service");
        }
        DeliverySpec delivery = trigger.getSpec().getDelivery();
        if (delivery == null) {
            Broker broker = (Broker) find(objects, "Broker", trigger.getSpec().getBroker());
            delivery = broker == null ? null : broker.getSpec().getDelivery();
        }
        checkDelivery("Trigger " + name(trigger), delivery, objects, functions, problems);
    }

    /** A KafkaSource posting to this Trigger's Broker sets every non-type attribute the Trigger filters on. */
    static boolean kafkaSourceTagsMatch(Map<String, String> attributes, Trigger trigger, List<HasMetadata> objects) {
        Map<String, String> extensions = new LinkedHashMap<>(attributes);
        extensions.remove("type");
        if (extensions.isEmpty()) {
            return false; // the type alone is shared by every KafkaSource
        }
        for (HasMetadata o : objects) {
            if (o instanceof KafkaSource k && k.getSpec().getSink() != null && k.getSpec().getSink().getRef() != null
                    && "Broker".equals(k.getSpec().getSink().getRef().getKind())
                    && trigger.getSpec().getBroker().equals(k.getSpec().getSink().getRef().getName())
                    && k.getSpec().getCeOverrides() != null
                    && k.getSpec().getCeOverrides().getExtensions().entrySet().containsAll(extensions.entrySet())) {
                return true;
            }
        }
        return false;
    }

    /** The CloudEvent type each kind of AWS IntegrationSource emits (fixed by eventing-integrations). */
    static final Map<String, String> INTEGRATION_SOURCE_TYPES = Map.of("sqs", StorageNotifications.KNATIVE_AWS_SQS,
            "s3", dev.sapienseg.event.SegmentFunction.KNATIVE_AWS_S3);

    /**
     * An AWS IntegrationSource: region and credentials set, an SQS source names a queue (its name or an SQS ARN: the
     * source refuses an S3 ARN, as Knative's own docs example has it), its sink is a deployed Broker, and a Trigger of
     * that Broker takes the type it emits.
     */
    static void checkIntegrationSource(IntegrationSource source, List<HasMetadata> objects, List<String> problems) {
        String where = "IntegrationSource " + name(source) + ": ";
        var aws = source.getSpec().getAws();
        if (aws == null || (aws.getSqs() == null) == (aws.getS3() == null)) {
            problems.add(where + "one of spec.aws.sqs or spec.aws.s3 expected");
            return;
        }
        String kind = aws.getSqs() != null ? "sqs" : "s3";
        String arn = aws.getSqs() != null ? aws.getSqs().getArn() : aws.getS3().getArn();
        String region = aws.getSqs() != null ? aws.getSqs().getRegion() : aws.getS3().getRegion();
        if (region == null || region.isBlank() || arn == null || arn.isBlank()) {
            problems.add(where + "arn and region are required");
        } else if (kind.equals("sqs") && !arn.matches("[A-Za-z0-9_-]{1,80}(\\.fifo)?|arn:aws[a-z-]*:sqs:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_.-]+")) {
            problems.add(where + "arn must be a queue name or arn:aws:sqs:<region>:<account>:<queue>, not " + arn);
        }
        if (aws.getAuth() == null || (aws.getAuth().getServiceAccountName() == null && (aws.getAuth().getSecret() == null
                || aws.getAuth().getSecret().getRef() == null || aws.getAuth().getSecret().getRef().getName() == null))) {
            problems.add(where + "spec.aws.auth needs secret.ref.name or serviceAccountName");
        }
        checkDestination(where + "sink", source.getSpec().getSink(), objects, problems);
        var sink = source.getSpec().getSink() == null ? null : source.getSpec().getSink().getRef();
        String type = INTEGRATION_SOURCE_TYPES.get(kind);
        boolean routed = sink != null && "Broker".equals(sink.getKind()) && objects.stream()
                .filter(Trigger.class::isInstance).map(Trigger.class::cast)
                .anyMatch(t -> sink.getName().equals(t.getSpec().getBroker()) && t.getSpec().getFilter() != null
                        && type.equals(t.getSpec().getFilter().getAttributes().get("type")));
        if (!routed) {
            problems.add(where + "its sink must be a Broker with a Trigger on " + type);
        }
    }

    static void checkKafkaSource(KafkaSource source, List<HasMetadata> objects, List<Service> functions,
            List<String> problems) {
        String where = "KafkaSource " + name(source) + ": ";
        if (source.getSpec().getBootstrapServers() == null || source.getSpec().getBootstrapServers().isEmpty()
                || source.getSpec().getTopics() == null || source.getSpec().getTopics().isEmpty()) {
            problems.add(where + "bootstrapServers and topics are required");
        }
        checkDestination(where + "sink", source.getSpec().getSink(), objects, problems);
        if (source.getSpec().getCeOverrides() != null) {
            for (String ext : source.getSpec().getCeOverrides().getExtensions().keySet()) {
                if (!ext.matches("[a-z0-9]{1,20}")) {
                    problems.add(where + "CloudEvents extension name " + ext + " must be 1-20 lower-case letters/digits");
                }
            }
        }
        checkDelivery("KafkaSource " + name(source), source.getSpec().getDelivery(), objects, functions, problems);
    }

    static void checkDelivery(String where, DeliverySpec delivery, List<HasMetadata> objects, List<Service> functions,
            List<String> problems) {
        if (delivery == null) {
            problems.add(where + ": no delivery spec (retry, backoff, dead-letter sink)");
            return;
        }
        if (delivery.getRetry() == null || delivery.getRetry() < 1) {
            problems.add(where + ": delivery retry must be at least 1 (429/503 are meant to be retried)");
        }
        if (!Set.of("exponential", "linear").contains(String.valueOf(delivery.getBackoffPolicy()))) {
            problems.add(where + ": backoffPolicy must be exponential or linear");
        }
        try {
            if (Duration.parse(String.valueOf(delivery.getBackoffDelay())).isZero()) {
                problems.add(where + ": backoffDelay must be positive");
            }
        } catch (RuntimeException e) {
            problems.add(where + ": backoffDelay " + delivery.getBackoffDelay() + " is not an ISO-8601 duration");
        }
        if (delivery.getDeadLetterSink() == null) {
            problems.add(where + ": no dead-letter sink");
        } else {
            checkDestination(where + " dead-letter sink", delivery.getDeadLetterSink(), objects, problems);
            KReference ref = delivery.getDeadLetterSink().getRef();
            if (ref != null && functions.stream().anyMatch(f -> name(f).equals(ref.getName()))) {
                problems.add(where + ": the dead-letter sink is the function itself");
            }
        }
    }

    static void checkDestination(String where, Destination d, List<HasMetadata> objects, List<String> problems) {
        if (d == null || (d.getRef() == null && d.getUri() == null)) {
            problems.add(where + " is missing");
            return;
        }
        KReference ref = d.getRef();
        if (ref != null) {
            HasMetadata target = find(objects, ref.getKind(), ref.getName());
            if (target == null || !target.getApiVersion().equals(ref.getApiVersion())) {
                problems.add(where + " " + ref.getApiVersion() + " " + ref.getKind() + " " + ref.getName()
                        + " is not deployed by this overlay");
            }
        }
    }
}
