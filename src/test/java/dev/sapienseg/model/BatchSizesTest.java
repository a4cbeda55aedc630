package dev.sapienseg.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/** The batch sizes a run may take: listed ones padded up to, the largest always there, nonsense refused by name. */
class BatchSizesTest {

    @Test
    void unsetMeansEverySizeAndAListIsPaddedUpTo() {
        assertEquals(List.of(1, 2, 3, 4), BatchSizes.of(4, Optional.empty()).sizes());
        BatchSizes gpu = BatchSizes.of(8, Optional.of(List.of(4, 1, 2)));
        assertEquals(List.of(1, 2, 4, 8), gpu.sizes(), "sorted, and the largest batch added");
        assertEquals(List.of(1, 2, 4, 4, 8, 8, 8, 8),
                java.util.stream.IntStream.rangeClosed(1, 8).mapToObj(gpu::runFor).toList());
        assertThrows(IllegalArgumentException.class, () -> gpu.runFor(9));
        assertEquals("1,2,4,8", gpu.toString());
    }

    @Test
    void sizesOutsideTheRangeAreRefusedNamingTheSetting() {
        String message = assertThrows(IllegalArgumentException.class,
                () -> BatchSizes.of(8, Optional.of(List.of(1, 16)))).getMessage();
        assertTrue(message.startsWith("sapiens.batching.batch-sizes lists 16, outside 1..8"), message);
        assertThrows(IllegalArgumentException.class, () -> BatchSizes.of(8, Optional.of(List.of(0, 8))));
    }

    @Test
    void aPresetThatRunsOnePictureAtATimeCapsThemAndAFixedBatchIsTheOnlyShape() {
        assertEquals(List.of(1), BatchSizes.of(8, Optional.of(List.of(1, 2, 4))).capped(1).sizes());
        assertEquals(List.of(1, 2, 3), BatchSizes.of(8, Optional.of(List.of(1, 2, 4))).capped(3).sizes());
        ModelContract fixed = new ModelContract("input", "output", 4, 1024, 768, 28, 512, 384);
        assertEquals(List.of(4), BatchSizes.of(8, Optional.empty()).shapesFor(fixed));
        ModelContract dynamic = new ModelContract("input", "output", 0, 1024, 768, 28, 512, 384);
        assertEquals(List.of(1, 2, 8), BatchSizes.of(8, Optional.of(List.of(2, 1))).shapesFor(dynamic));
    }
}
