package dev.sapienseg.config;

/** {@code sapiens.ui.*}: the page at {@code /ui/}. */
public interface UiSettings {

    /** Serve the page (static files that call the CloudEvent endpoint); off: {@code /ui/} is 404. */
    boolean enabled();
}
