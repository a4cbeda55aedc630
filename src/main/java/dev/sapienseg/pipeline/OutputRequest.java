package dev.sapienseg.pipeline;

/**
 * Which pictures to encode besides the statistics.
 *
 * @param mask the class-id palette PNG
 * @param overlay the Sapiens side-by-side visualisation
 */
public record OutputRequest(boolean mask, boolean overlay) {

    public static final OutputRequest MASK_ONLY = new OutputRequest(true, false);
}
