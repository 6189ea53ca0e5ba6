/* The heads' options as the command line gives them (infopro_heads.h): parsing and naming, apart
 * from the builder, so that what reads options links no graph building. */
#include <stdio.h>
#include <string.h>

#include "infopro_heads.h"

ipro_status ipro_head_parse(const char *text, ipro_head_options *options, ipro_error *err) {
  int convs = -1, fcs = -1;
  char tail;
  if (!text || sscanf(text, "%dc%df%c", &convs, &fcs, &tail) != 2 || convs < 0 ||
      convs > IPRO_HEAD_MAX_CONVS || fcs < 1 || fcs > IPRO_HEAD_MAX_FCS)
    return ipro_error_set(err,
                          "--aux-head '%s' is not of the form <n>c<m>f with n of 0 to %d and m of "
                          "1 to %d (e.g. 1c2f)",
                          text ? text : "", IPRO_HEAD_MAX_CONVS, IPRO_HEAD_MAX_FCS);
  options->convs = convs;
  options->fcs = fcs;
  return IPRO_OK;
}

ipro_status ipro_decoder_parse(const char *text, ipro_decoder_kind *decoder, ipro_error *err) {
  if (text && strcmp(text, "paper") == 0)
    *decoder = IPRO_DECODER_PAPER;
  else if (text && strcmp(text, "reduced") == 0)
    *decoder = IPRO_DECODER_REDUCED;
  else
    return ipro_error_set(err, "--decoder '%s' is neither paper nor reduced", text ? text : "");
  return IPRO_OK;
}

const char *ipro_decoder_name(ipro_decoder_kind decoder) {
  return decoder == IPRO_DECODER_REDUCED ? "reduced" : "paper";
}
