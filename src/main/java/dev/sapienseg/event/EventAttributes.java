package dev.sapienseg.event;

import io.quarkus.funqy.knative.events.CloudEvent;
import io.vertx.ext.web.RoutingContext;

/**
 * The attributes of the request event that its answer and log lines name, kept on the routing context once Funqy
 * has parsed the event and called the function (a failure before that is a malformed event).
 */
public record EventAttributes(String id, String type, String source, String subject) {

    private static final String CONTEXT_KEY = EventAttributes.class.getName();

    static EventAttributes of(CloudEvent<?> event) {
        return new EventAttributes(event.id(), event.type(), event.source(), event.subject());
    }

    /** True when id, source and type are all there, as CloudEvents requires. */
    boolean complete() {
        return present(id) && present(source) && present(type);
    }

    void remember(RoutingContext ctx) {
        ctx.put(CONTEXT_KEY, this);
    }

    /** The event's attributes, or null when the request did not reach the function. */
    static EventAttributes of(RoutingContext ctx) {
        return ctx.get(CONTEXT_KEY);
    }

    private static boolean present(String value) {
        return value != null && !value.isBlank();
    }
}
