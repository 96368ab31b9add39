package dev.candor.models.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Tags of wrong trace lines (own error or propagated), and counterfactual traces, on hand-made programs. */
class TraceAnalysisTest {
  // a = 347; b = a * 26; c = b % 7; print(c)
  static final Program PROGRAM = new Program(List.of(
      new Program.Assign("a", 347),
      new Program.Binary("b", new Program.Var("a"), "*", new Program.Const(26)),
      new Program.Binary("c", new Program.Var("b"), "%", new Program.Const(7)),
      new Program.Print("c")));

  @Test
  void theReadmesExampleIsOneOwnErrorThenOwnErrors() {
    String answer = "a = 347\nb = a * 26 = 347 * 26 = 6040\nc = b % 7 = 6040 % 7 = 60\noutput: 60\n";
    // 6040 % 7 is 6, so line c is its own error; output 60 is what the model said c was: propagated
    assertEquals(List.of(List.of(), List.of(TraceAnalysis.OWN_ERROR), List.of(TraceAnalysis.OWN_ERROR),
        List.of(TraceAnalysis.PROPAGATED)), TraceAnalysis.lineTags(PROGRAM, answer));
  }

  @Test
  void aLineRightFromTheModelsOwnWrongValueIsPropagated() {
    assertEquals("a = 347\nb = a * 26 = 347 * 26 = 9022\nc = b % 7 = 9022 % 7 = 6\noutput: 6\n", PROGRAM.trace());
    String answer = "a = 347\nb = a * 26 = 347 * 26 = 9023\nc = b % 7 = 9023 % 7 = 0\noutput: 0\n\nextra\n";
    assertEquals(List.of(List.of(), List.of(TraceAnalysis.OWN_ERROR), List.of(TraceAnalysis.PROPAGATED),
        List.of(TraceAnalysis.PROPAGATED), List.of(TraceAnalysis.EXTRA)), TraceAnalysis.lineTags(PROGRAM, answer));
  }

  @Test
  void anIllegibleValueMakesNothingBelowItPropagated() {
    String answer = "a = 347\nb = a * 26 = 347 * 26 = 90x\nc = b % 7 = 90 % 7 = 6\noutput: 6\n";
    assertEquals(List.of(List.of(), List.of(TraceAnalysis.OWN_ERROR), List.of(TraceAnalysis.OWN_ERROR), List.of()),
        TraceAnalysis.lineTags(PROGRAM, answer));
  }

  @Test
  void aCounterfactualChangesOneDigitAndRecomputesWhatFollows() {
    Counterfactual c = Counterfactual.inject(PROGRAM, 1, 3);
    assertNotNull(c);
    assertEquals("a = 347\nb = a * 26 = 347 * 26 = 9025\nc = b % 7 = 9025 % 7 = 2\noutput: 2\n", c.trace());
    assertEquals(List.of(Counterfactual.BEFORE, Counterfactual.INJECTED, Counterfactual.DOWNSTREAM,
        Counterfactual.DOWNSTREAM), c.roles());
    // the downstream lines are exactly right given the injected value: propagated errors by construction
    assertEquals(List.of(List.of(), List.of(TraceAnalysis.OWN_ERROR), List.of(TraceAnalysis.PROPAGATED),
        List.of(TraceAnalysis.PROPAGATED)), TraceAnalysis.lineTags(PROGRAM, c.trace()));
  }

  @Test
  void aValueNothingUsesIsNotInjected() {
    Program unused = new Program(List.of(new Program.Assign("a", 3),
        new Program.Binary("b", new Program.Var("a"), "+", new Program.Const(1)), new Program.Print("a")));
    assertNull(Counterfactual.of(unused, new SplittableRandom(1)));
  }

  @Test
  void generatedCounterfactualsAreWellFormed() {
    ProgramGenerator programs = new ProgramGenerator(5);
    SplittableRandom random = new SplittableRandom(5);
    int made = 0;
    for (int i = 0; i < 200; i++) {
      Program p = programs.generate(i, 0.3 + 0.7 * i / 199.0);
      Counterfactual c = Counterfactual.of(p, random);
      if (c == null) {
        continue;
      }
      made++;
      List<String> expected = p.traceLines();
      List<String> got = TraceAnalysis.nonBlankLines(c.trace());
      assertEquals(expected.size(), got.size());
      for (int l = 0; l < got.size(); l++) {
        boolean same = got.get(l).equals(expected.get(l));
        String role = c.roles().get(l);
        assertEquals(role.equals(Counterfactual.BEFORE) || role.equals(Counterfactual.UNAFFECTED), same, role);
      }
      assertTrue(c.roles().contains(Counterfactual.DOWNSTREAM), c.trace());
    }
    assertTrue(made > 150, made + " of 200 programs have a counterfactual");
  }
}
