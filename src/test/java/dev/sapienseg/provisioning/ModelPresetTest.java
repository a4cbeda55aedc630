package dev.sapienseg.provisioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.sapienseg.model.ExecutionProvider;

/** What each preset states: where it comes from, which providers run it, its licence. */
class ModelPresetTest {

    @Test
    void descriptionsCarryTheDownloadSize() {
        assertEquals("0.3b fp32, 1.36 GB", ModelPreset.HF_0_3B.description());
        assertEquals("0.3b dynamic int8, 445 MB", ModelPreset.HF_0_3B_INT8.description());
        assertEquals("Sapiens2 1b fp32 with external data, 5.9 GB", ModelPreset.HF2_1B.description());
        assertEquals(5_900_000_000L, ModelPreset.HF2_1B.downloadBytes());
    }

    @Test
    void dynamicQuantizationIsRefusedOnCudaWithTheAlternatives() {
        for (ModelPreset preset : ModelPreset.values()) {
            boolean dynamic = preset.id().endsWith("int8") || preset.id().endsWith("uint8");
            assertEquals(dynamic ? ModelPreset.Runs.CPU_ONLY : ModelPreset.Runs.CPU_AND_CUDA, preset.runs(), preset.id());
            assertEquals(Optional.empty(), preset.refusal(ExecutionProvider.CPU), preset.id());
            assertEquals(dynamic, preset.refusal(ExecutionProvider.CUDA).isPresent(), preset.id());
            assertEquals(dynamic ? 1 : Integer.MAX_VALUE, preset.maxBatch(), preset.id());
        }
        String int8 = ModelPreset.byId("hf-0.3b-int8").refusal(ExecutionProvider.CUDA).orElseThrow();
        assertTrue(int8.contains("runs on the CPU only") && int8.contains("hf-0.3b-q4") && int8.contains("hf-0.3b-fp16")
                && !int8.contains("hf-0.6b-uint8") && int8.contains("sapiens.execution.provider=cpu"), int8);
        String sapiens2 = ModelPreset.byId("hf2-5b-int8").refusal(ExecutionProvider.CUDA).orElseThrow();
        assertTrue(sapiens2.contains("hf2-1b") && !sapiens2.contains("hf-0.3b"), sapiens2);
    }

    @Test
    void everyPresetStatesItsLicence() {
        for (ModelPreset preset : ModelPreset.values()) {
            ModelPreset.Licence expected = preset.id().startsWith("hf2-") ? ModelPreset.Licence.SAPIENS2
                    : ModelPreset.Licence.SAPIENS;
            assertEquals(expected, preset.licence(), preset.id());
        }
        assertTrue(ModelPreset.Licence.SAPIENS.summary().contains("CC BY-NC 4.0"));
        assertTrue(ModelPreset.Licence.SAPIENS2.url().endsWith("facebookresearch/sapiens2/blob/main/LICENSE.md"));
    }

    @Test
    void quantizedAndSapiens2FilesComeFromPinnedLocations() {
        for (String id : List.of("hf-0.3b-int8", "hf-0.3b-uint8", "hf-0.3b-q4", "hf-0.3b-q4f16")) {
            String location = ModelPreset.byId(id).location().orElseThrow();
            assertTrue(location.startsWith("hf://onnx-community/sapiens-seg-0.3b@9f6f12fb68dfa251f579a9b7cfa8072d4cab58a9/onnx/model_"),
                    location);
            assertTrue(ModelSource.parse(location) instanceof ModelSource.HuggingFace, location);
        }
        for (String id : List.of("hf2-0.4b-fp16", "hf2-0.8b", "hf2-1b", "hf2-5b-int8")) {
            String location = ModelPreset.byId(id).location().orElseThrow();
            assertTrue(location.startsWith("hf://WeReCooking/sapiens2-onnx@2d6b460e42ddb77c9694ca7787e9ca35e00cb9ce/seg/seg_"),
                    location);
            assertEquals(dev.sapienseg.model.Normalization.IMAGENET, ModelPreset.byId(id).normalization());
        }
        assertEquals("a04b8a7c811132672312ad298b5d4b412e200d6089d613ef78f94fc3619b2a93",
                ModelPreset.byId("hf-0.3b-q4").sha256().orElseThrow());
        for (ModelPreset preset : ModelPreset.values()) {
            preset.sha256().ifPresent(sha -> assertTrue(sha.matches("[0-9a-f]{64}"), preset.id()));
        }
    }
}
