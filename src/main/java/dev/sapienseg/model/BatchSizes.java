package dev.sapienseg.model;

import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The batch sizes model runs take, ascending; the largest is the batch buffers' capacity. A run of fewer pictures is
 * padded up to the next size. On CUDA every new input shape makes cuDNN search its convolution algorithms (seconds
 * with {@code EXHAUSTIVE}), so a GPU pod lists a few sizes ({@code 1,2,4,8}) and warms each one before readiness; on
 * the CPU a new shape costs nothing extra, and every size from 1 to the largest avoids padding work.
 */
public record BatchSizes(List<Integer> sizes) {

    public BatchSizes {
        sizes = List.copyOf(sizes);
        if (sizes.isEmpty()) {
            throw new IllegalArgumentException("no batch size");
        }
        for (int i = 0; i < sizes.size(); i++) {
            if (sizes.get(i) < 1 || (i > 0 && sizes.get(i) <= sizes.get(i - 1))) {
                throw new IllegalArgumentException("batch sizes must be positive and ascending: " + sizes);
            }
        }
    }

    /** Every size from 1 to {@code max}. */
    public static BatchSizes upTo(int max) {
        return new BatchSizes(java.util.stream.IntStream.rangeClosed(1, Math.max(1, max)).boxed().toList());
    }

    /**
     * The sizes {@code sapiens.batching.batch-sizes} lists, with {@code max} added; unset: every size up to {@code max}.
     *
     * @throws IllegalArgumentException for a size below 1 or above {@code max}, naming the setting
     */
    public static BatchSizes of(int max, Optional<List<Integer>> listed) {
        if (listed.isEmpty() || listed.get().isEmpty()) {
            return upTo(max);
        }
        TreeSet<Integer> sizes = new TreeSet<>(listed.get());
        for (int size : sizes) {
            if (size < 1 || size > max) {
                throw new IllegalArgumentException("sapiens.batching.batch-sizes lists " + size + ", outside 1.."
                        + max + " (sapiens.batching.max-batch-size, or 1 for a preset that runs one picture at a time)");
            }
        }
        sizes.add(Math.max(1, max));
        return new BatchSizes(List.copyOf(sizes));
    }

    /** These sizes up to {@code max} (a preset that runs one picture at a time caps them at 1), with {@code max}. */
    public BatchSizes capped(int max) {
        if (max >= max()) {
            return this;
        }
        TreeSet<Integer> kept = new TreeSet<>(sizes.stream().filter(size -> size < max).toList());
        kept.add(Math.max(1, max));
        return new BatchSizes(List.copyOf(kept));
    }

    public int max() {
        return sizes.get(sizes.size() - 1);
    }

    /** The size a run of {@code pictures} takes: the smallest listed size that holds them. */
    public int runFor(int pictures) {
        for (int size : sizes) {
            if (size >= pictures) {
                return size;
            }
        }
        throw new IllegalArgumentException(pictures + " pictures exceed the largest batch size " + max());
    }

    /** The sizes a model with {@code contract} actually runs: its fixed batch alone, or these. */
    public List<Integer> shapesFor(ModelContract contract) {
        return contract.fixedBatch() > 0 ? List.of(contract.fixedBatch()) : sizes;
    }

    @Override
    public String toString() {
        return sizes.stream().map(String::valueOf).collect(Collectors.joining(","));
    }
}
