package dev.sapienseg.model;

/** The model cannot serve; the message says why in words an operator can act on (shown in readiness data). */
public class ModelLoadException extends Exception {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
