"""County emergency notices: compose and send in one action, per-facility acknowledgement,
a live board of acknowledged and outstanding facilities, resend to the outstanding."""
