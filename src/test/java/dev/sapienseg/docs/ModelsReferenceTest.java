package dev.sapienseg.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.sapienseg.provisioning.ModelPreset;

/**
 * The presets table of docs/models.md, held against {@link ModelPreset}: every preset in it once, each size it gives
 * the size of one of the row's presets, and "CPU only" exactly for the presets that run on the CPU only.
 */
class ModelsReferenceTest {

    static final java.nio.file.Path PAGE = Markdown.ROOT.resolve("docs/models.md");
    private static final Pattern SIZE = Pattern.compile("(?<![\\w.])(\\d+(?:\\.\\d+)?)\\s*(GB|MB)?");

    /** The megabytes a size cell names; a bare number takes the unit written after it ({@code 1.36 / 2.68 GB}). */
    static List<Long> megabytes(String cell) {
        List<String[]> sizes = new ArrayList<>();
        Matcher m = SIZE.matcher(cell);
        while (m.find()) {
            sizes.add(new String[] {m.group(1), m.group(2)});
        }
        List<Long> result = new ArrayList<>();
        String unit = null;
        for (int i = sizes.size() - 1; i >= 0; i--) {
            unit = sizes.get(i)[1] != null ? sizes.get(i)[1] : unit;
            BigDecimal n = new BigDecimal(sizes.get(i)[0]);
            result.add(0, "GB".equals(unit) ? n.movePointRight(3).longValue() : n.longValue());
        }
        return result;
    }

    static List<String> problems(String page) {
        List<String> problems = new ArrayList<>();
        EnumSet<ModelPreset> seen = EnumSet.noneOf(ModelPreset.class);
        for (List<String> cells : Markdown.tableRows(page)) {
            if (cells.size() != 6 || !cells.get(2).matches("lite|imagenet")) {
                continue;
            }
            List<ModelPreset> row = new ArrayList<>();
            Matcher ids = Pattern.compile("`([a-z0-9.-]+)`").matcher(cells.get(0));
            while (ids.find()) {
                String id = ids.group(1);
                Arrays.stream(ModelPreset.values()).filter(p -> p.id().equals(id)).findFirst().ifPresentOrElse(p -> {
                    row.add(p);
                    if (!seen.add(p)) {
                        problems.add(id + " is in the table twice");
                    }
                }, () -> problems.add(id + " is no preset"));
            }
            for (long mb : megabytes(cells.get(3))) {
                if (row.stream().noneMatch(p -> Math.abs(p.downloadBytes() / 1_000_000 - mb) <= mb / 100)) {
                    problems.add(cells.get(0) + ": size " + mb + " MB is none of theirs: "
                            + row.stream().map(ModelPreset::description).toList());
                }
            }
            boolean cpuOnly = cells.get(4).contains("CPU only");
            row.stream().filter(p -> (p.runs() == ModelPreset.Runs.CPU_ONLY) != cpuOnly)
                    .forEach(p -> problems.add(p.id() + ": the table says " + cells.get(4) + ", it runs " + p.runs()));
        }
        EnumSet.complementOf(seen).forEach(p -> problems.add(p.id() + " is not in the table"));
        return problems;
    }

    @Test
    void everyPresetIsInTheTableWithItsSizeAndProviders() {
        assertEquals(List.of(), problems(Markdown.read(PAGE)));
    }

    @Test
    void aWrongSizeOrProviderIsReported() {
        assertEquals(List.of(1_360L, 2_680L, 4_710L, 680L), megabytes("1.36 / 2.68 / 4.71 GB fp32; 680 MB"));
        String page = Markdown.read(PAGE).replace("| 445 MB each | **CPU only**", "| 545 MB each | CPU, CUDA");
        assertEquals(3, problems(page).size(), "the size, and two presets that run on the CPU only: " + problems(page));
    }
}
