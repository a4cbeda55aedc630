package dev.sapienseg.storage;

/**
 * The event needs no work and no reply: a notification about our own outputs (which would otherwise loop), or about
 * something other than a new object. Answered 204 with the reason in a header, and logged.
 */
public class EventIgnoredException extends RuntimeException {

    public EventIgnoredException(String reason) {
        super(reason, null, false, false);
    }
}
